/**
 * Every metric gossipless exports, in one list: the code creates its instruments from it, the
 * operations docs describe it, and the tests check the Prometheus alert rules and the Grafana
 * dashboard against it (docs/deploy/prometheus, docs/deploy/grafana).
 */

/** How an instrument is recorded. Observable ones are read at collection time, never on a hot path. */
export type InstrumentKind =
  'counter' | 'histogram' | 'observable-gauge' | 'observable-counter' | 'observable-up-down-counter';

/** One exported metric. */
export interface InstrumentSpec {
  /** OpenTelemetry name (dotted, `gossipless.` namespace). */
  readonly name: string;
  readonly kind: InstrumentKind;
  /** UCUM unit, or an annotation in braces (`{member}`) for plain counts. */
  readonly unit: string;
  readonly description: string;
  /** Attributes beyond `gossipless.cluster` and `gossipless.node`, which every metric carries. */
  readonly attributes: readonly string[];
}

/** Attribute naming the cluster, on every metric. */
export const ATTR_CLUSTER = 'gossipless.cluster';
/** Attribute naming the node, on every metric. */
export const ATTR_NODE = 'gossipless.node';

/** The metrics, keyed by a short id the hooks use. */
export const INSTRUMENTS = {
  leaderStatus: {
    name: 'gossipless.leader.status',
    kind: 'observable-gauge',
    unit: '1',
    description: '1 while this node holds the lease and leads, else 0',
    attributes: [],
  },
  leaderEpoch: {
    name: 'gossipless.leader.epoch',
    kind: 'observable-gauge',
    unit: '{epoch}',
    description: "Epoch of the current leader's term as this node knows it (its own while leading)",
    attributes: [],
  },
  leaseOperationDuration: {
    name: 'gossipless.lease.operation.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Duration of lease calls: acquire, renew, release',
    attributes: ['gossipless.lease.operation', 'gossipless.outcome'],
  },
  leaseRenewalAge: {
    name: 'gossipless.lease.renewal.age',
    kind: 'observable-gauge',
    unit: 's',
    description:
      "Time since the send of the leader's last successful acquire/renew (reported by the leader only)",
    attributes: [],
  },
  leaseRenewalDeadline: {
    name: 'gossipless.lease.renewal.deadline',
    kind: 'observable-gauge',
    unit: 's',
    description: 'Renewal age at which the leader steps down: lease duration − safety margin',
    attributes: [],
  },
  leaseTerms: {
    name: 'gossipless.lease.terms',
    kind: 'counter',
    unit: '{term}',
    description: 'Terms this node started (elections it won)',
    attributes: [],
  },
  leaseDemotions: {
    name: 'gossipless.lease.demotions',
    kind: 'counter',
    unit: '{demotion}',
    description: 'Terms this node ended, by reason: lease-lost, renew-timeout, stopped, resigned',
    attributes: ['gossipless.reason'],
  },
  membershipMembers: {
    name: 'gossipless.membership.members',
    kind: 'observable-gauge',
    unit: '{member}',
    description: "Live members (alive or suspect) in this node's last view, by the server clock",
    attributes: [],
  },
  membershipSuspects: {
    name: 'gossipless.membership.suspects',
    kind: 'observable-gauge',
    unit: '{member}',
    description: 'Members whose heartbeat is late (suspect) in the last view',
    attributes: [],
  },
  busDeliveryLatency: {
    name: 'gossipless.bus.delivery.latency',
    kind: 'histogram',
    unit: 's',
    description: "Publish-to-deliver time: server time at delivery − the message's publish time",
    attributes: ['gossipless.bus.channel'],
  },
  busConsumerLag: {
    name: 'gossipless.bus.consumer.lag',
    kind: 'observable-gauge',
    unit: 's',
    description:
      'How far this consumer is behind: server time − the start of its last completed poll (subscribers only)',
    attributes: [],
  },
  busBacklog: {
    name: 'gossipless.bus.backlog',
    kind: 'observable-gauge',
    unit: '{message}',
    description: 'Messages published on this node and not yet stored (publish queues)',
    attributes: [],
  },
  busPublished: {
    name: 'gossipless.bus.messages.published',
    kind: 'observable-counter',
    unit: '{message}',
    description: 'Messages this node stored on the bus',
    attributes: [],
  },
  busDelivered: {
    name: 'gossipless.bus.messages.delivered',
    kind: 'observable-counter',
    unit: '{message}',
    description: "Messages delivered to this node's handlers",
    attributes: [],
  },
  busMalformed: {
    name: 'gossipless.bus.malformed_rows',
    kind: 'observable-counter',
    unit: '{row}',
    description: 'Bus rows skipped because they failed validation',
    attributes: [],
  },
  busHandlerErrors: {
    name: 'gossipless.bus.handler.errors',
    kind: 'observable-counter',
    unit: '{error}',
    description: 'Handler calls that threw or rejected',
    attributes: [],
  },
  busPollErrors: {
    name: 'gossipless.bus.poll.errors',
    kind: 'observable-counter',
    unit: '{error}',
    description: 'Bus polls that failed (storage errors)',
    attributes: [],
  },
  busDeadLetters: {
    name: 'gossipless.bus.dead_letters',
    kind: 'observable-counter',
    unit: '{message}',
    description: 'Messages parked on the dead-letter channel after their redeliveries failed',
    attributes: [],
  },
  singletonRuns: {
    name: 'gossipless.singleton.runs',
    kind: 'counter',
    unit: '{run}',
    description: 'Singleton job runs on this node, by job and outcome: ok, aborted, failed',
    attributes: ['gossipless.singleton.name', 'gossipless.outcome'],
  },
  singletonTicksFenced: {
    name: 'gossipless.singleton.ticks.fenced',
    kind: 'counter',
    unit: '{tick}',
    description: 'Tick claims refused because a newer epoch had claimed the job (a stale leader)',
    attributes: ['gossipless.singleton.name'],
  },
  storageTransactions: {
    name: 'gossipless.storage.transactions',
    kind: 'observable-counter',
    unit: '{transaction}',
    description: 'Billable storage transactions by kind (lease, membership, bus-poll, publish, …)',
    attributes: ['gossipless.storage.kind'],
  },
  storageThrottled: {
    name: 'gossipless.storage.throttled',
    kind: 'observable-counter',
    unit: '{response}',
    description: 'Throttled storage responses (429, 503 ServerBusy, 500 OperationTimedOut) by kind',
    attributes: ['gossipless.storage.kind'],
  },
} as const satisfies Record<string, InstrumentSpec>;

/** Id of an instrument in {@link INSTRUMENTS}. */
export type InstrumentId = keyof typeof INSTRUMENTS;

/**
 * The series names an instrument has once scraped through the OpenTelemetry Prometheus exporter
 * (`@opentelemetry/exporter-prometheus`): dots become underscores, monotonic counters get `_total`,
 * histograms become `_bucket`, `_sum` and `_count`. The OpenTelemetry Collector's Prometheus
 * exporter also appends unit suffixes (`_seconds`, `_ratio`) unless `add_metric_suffixes: false`.
 */
export function prometheusSeriesNames(spec: InstrumentSpec): string[] {
  const base = spec.name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_');
  switch (spec.kind) {
    case 'counter':
    case 'observable-counter':
      return [`${base}_total`];
    case 'histogram':
      return [`${base}_bucket`, `${base}_sum`, `${base}_count`];
    default:
      return [base];
  }
}
