import {
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type BatchObservableCallback,
  type Context,
  type Histogram,
  type Counter,
  type Meter,
  type Observable,
  type Span,
} from '@opentelemetry/api';
import { VERSION } from '../version/index.js';
import { ATTR_CLUSTER, ATTR_NODE, INSTRUMENTS, type InstrumentSpec } from './instruments.js';

// Instrumentation goes through @opentelemetry/api only, as OpenTelemetry asks of libraries: with no
// SDK registered every meter, instrument and tracer is a no-op. Meters are taken when a node part
// is constructed (the metrics API has no proxy: a meter taken before the SDK registers stays a
// no-op), so an application registers its SDK before creating its cluster.
const SCOPE = 'gossipless';

/** Who a part is: the attributes every metric of it carries. */
export interface TelemetryIdentity {
  readonly cluster: string;
  readonly nodeId: string;
}

function meter(): Meter {
  return metrics.getMeter(SCOPE, VERSION);
}

function tracer() {
  return trace.getTracer(SCOPE, VERSION);
}

function base(identity: TelemetryIdentity): Attributes {
  return { [ATTR_CLUSTER]: identity.cluster, [ATTR_NODE]: identity.nodeId };
}

function histogram(m: Meter, spec: InstrumentSpec, boundaries?: number[]): Histogram {
  return m.createHistogram(spec.name, {
    unit: spec.unit,
    description: spec.description,
    ...(boundaries ? { advice: { explicitBucketBoundaries: boundaries } } : {}),
  });
}

function counter(m: Meter, spec: InstrumentSpec): Counter {
  return m.createCounter(spec.name, { unit: spec.unit, description: spec.description });
}

function observable(m: Meter, spec: InstrumentSpec): Observable {
  const options = { unit: spec.unit, description: spec.description };
  switch (spec.kind) {
    case 'observable-counter':
      return m.createObservableCounter(spec.name, options);
    case 'observable-up-down-counter':
      return m.createObservableUpDownCounter(spec.name, options);
    default:
      return m.createObservableGauge(spec.name, options);
  }
}

/** Registers one batch callback over `observables`; returns its removal. */
function observe(m: Meter, observables: Observable[], callback: BatchObservableCallback): () => void {
  m.addBatchObservableCallback(callback, observables);
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    m.removeBatchObservableCallback(callback, observables);
  };
}

/** Attribute objects built once per distinct key, so a hot path allocates none. */
function attributeCache(baseAttributes: Attributes): (key: string, make: () => Attributes) => Attributes {
  const cache = new Map<string, Attributes>();
  return (key, make) => {
    let attributes = cache.get(key);
    if (!attributes) {
      attributes = { ...baseAttributes, ...make() };
      cache.set(key, attributes);
    }
    return attributes;
  };
}

// Lease calls take milliseconds to a few seconds; the last buckets sit around the 3 s call deadline.
const LEASE_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10];
// Delivery spans a poll interval (1 s) plus storage latency; seconds to minutes when lagging.
const DELIVERY_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300];

/** What the lease instrumentation reads at collection time. */
export interface LeaseTelemetrySource extends TelemetryIdentity {
  /** True while leading. */
  isLeader(): boolean;
  /** The current leader's epoch as this node knows it (0 before any). */
  knownLeaderEpoch(): number;
  /** Milliseconds since the last successful acquire/renew was sent, while leading. */
  renewalAgeMs(): number | undefined;
  /** Renewal age at which the leader steps down (L − safety margin), ms. */
  readonly stepDownAfterMs: number;
}

/** Outcome of a lease call, as the `gossipless.outcome` attribute. */
export type LeaseCallOutcome = 'ok' | 'held' | 'lost' | 'error';

/** Hooks of the lease elector. */
export interface LeaseTelemetry {
  /** One acquire / renew / release call ended after `durationMs`. */
  call(operation: 'acquire' | 'renew' | 'release', outcome: LeaseCallOutcome, durationMs: number): void;
  /** A term started on this node. */
  termStarted(): void;
  /** A term of this node ended. */
  demoted(reason: string): void;
  /** Stops observing (idempotent). */
  close(): void;
}

/** Instruments a lease elector: leader status and epoch, call latencies, renewal age, terms, demotions. */
export function leaseTelemetry(source: LeaseTelemetrySource): LeaseTelemetry {
  const m = meter();
  const attributes = base(source);
  const cached = attributeCache(attributes);
  const durations = histogram(m, INSTRUMENTS.leaseOperationDuration, LEASE_BUCKETS_S);
  const terms = counter(m, INSTRUMENTS.leaseTerms);
  const demotions = counter(m, INSTRUMENTS.leaseDemotions);
  const status = observable(m, INSTRUMENTS.leaderStatus);
  const epoch = observable(m, INSTRUMENTS.leaderEpoch);
  const age = observable(m, INSTRUMENTS.leaseRenewalAge);
  const deadline = observable(m, INSTRUMENTS.leaseRenewalDeadline);
  const close = observe(m, [status, epoch, age, deadline], (result) => {
    result.observe(status, source.isLeader() ? 1 : 0, attributes);
    // A node that has not heard of any term yet reports nothing rather than a misleading 0.
    const knownEpoch = source.knownLeaderEpoch();
    if (knownEpoch > 0) result.observe(epoch, knownEpoch, attributes);
    const ageMs = source.renewalAgeMs();
    if (ageMs !== undefined) result.observe(age, ageMs / 1000, attributes);
    result.observe(deadline, source.stepDownAfterMs / 1000, attributes);
  });
  return {
    call(operation, outcome, durationMs) {
      durations.record(
        durationMs / 1000,
        cached(`${operation}/${outcome}`, () => ({
          'gossipless.lease.operation': operation,
          'gossipless.outcome': outcome,
        })),
      );
    },
    termStarted: () => terms.add(1, attributes),
    demoted: (reason) =>
      demotions.add(
        1,
        cached(reason, () => ({ 'gossipless.reason': reason })),
      ),
    close,
  };
}

/** What the membership instrumentation reads at collection time. */
export interface MembershipTelemetrySource extends TelemetryIdentity {
  members(): ReadonlyArray<{ state: 'alive' | 'suspect' }>;
}

/** Instruments membership: live members and suspects in the last view. Returns the removal. */
export function membershipTelemetry(source: MembershipTelemetrySource): () => void {
  const m = meter();
  const attributes = base(source);
  const members = observable(m, INSTRUMENTS.membershipMembers);
  const suspects = observable(m, INSTRUMENTS.membershipSuspects);
  return observe(m, [members, suspects], (result) => {
    const view = source.members();
    result.observe(members, view.length, attributes);
    result.observe(suspects, view.filter((member) => member.state === 'suspect').length, attributes);
  });
}

/** Bus counters as the bus keeps them; `deadLettered` is read when the bus has it. */
export interface BusTelemetryStats {
  readonly published: number;
  readonly delivered: number;
  readonly malformed: number;
  readonly handlerErrors: number;
  readonly pollErrors: number;
  /** Messages parked on the dead-letter channel (read if the bus counts them). */
  readonly deadLettered?: number;
}

/** What the bus instrumentation reads at collection time. */
export interface BusTelemetrySource extends TelemetryIdentity {
  readonly stats: BusTelemetryStats;
  /** Milliseconds this consumer is behind, or undefined when it does not consume. */
  consumerLagMs(): number | undefined;
  /** Messages queued for publishing and not yet stored. */
  queuedForPublish(): number;
}

/** A publish in flight: the trace context to store with the message, and the span's end. */
export interface PublishTrace {
  /** `traceparent`/`tracestate` to store in the row, or undefined when nothing is traced. */
  readonly carrier: string | undefined;
  /** The producer span's context: pass it to the storage SDK so its spans nest beneath. */
  readonly context: Context;
  end(error?: unknown): void;
}

/** Hooks of the bus. */
export interface BusTelemetry {
  /** A publish begins: a producer span whose context travels in the message row. */
  publish(channel: string): PublishTrace | undefined;
  /**
   * A message is about to reach its handlers: records its publish-to-deliver latency and starts a
   * consumer span linked to the publish. Call the result with whether a handler failed.
   */
  deliver(
    message: { channel: string; id: string; from: string; publishedAt: number },
    carrier: unknown,
    serverNowMs: number,
  ): (failed: boolean) => void;
  /** Stops observing (idempotent). */
  close(): void;
}

/** Name of the row property that carries a message's trace context (W3C `traceparent` + `tracestate`). */
export const TRACE_CONTEXT_PROPERTY = 'traceContext';

const NOTHING_TO_END = (): void => undefined;
const PRODUCER = { kind: SpanKind.PRODUCER } as const;
const CONSUMER = { kind: SpanKind.CONSUMER } as const;

/** Instruments a bus: delivery latency, lag, backlog, counters, and publish/deliver spans. */
export function busTelemetry(source: BusTelemetrySource): BusTelemetry {
  const m = meter();
  const attributes = base(source);
  const cached = attributeCache(attributes);
  const latency = histogram(m, INSTRUMENTS.busDeliveryLatency, DELIVERY_BUCKETS_S);
  const lag = observable(m, INSTRUMENTS.busConsumerLag);
  const backlog = observable(m, INSTRUMENTS.busBacklog);
  const published = observable(m, INSTRUMENTS.busPublished);
  const delivered = observable(m, INSTRUMENTS.busDelivered);
  const malformed = observable(m, INSTRUMENTS.busMalformed);
  const handlerErrors = observable(m, INSTRUMENTS.busHandlerErrors);
  const pollErrors = observable(m, INSTRUMENTS.busPollErrors);
  const deadLetters = observable(m, INSTRUMENTS.busDeadLetters);
  const close = observe(
    m,
    [lag, backlog, published, delivered, malformed, handlerErrors, pollErrors, deadLetters],
    (result) => {
      const { stats } = source;
      const lagMs = source.consumerLagMs();
      if (lagMs !== undefined) result.observe(lag, Math.max(0, lagMs) / 1000, attributes);
      result.observe(backlog, source.queuedForPublish(), attributes);
      result.observe(published, stats.published, attributes);
      result.observe(delivered, stats.delivered, attributes);
      result.observe(malformed, stats.malformed, attributes);
      result.observe(handlerErrors, stats.handlerErrors, attributes);
      result.observe(pollErrors, stats.pollErrors, attributes);
      result.observe(deadLetters, stats.deadLettered ?? 0, attributes);
    },
  );
  const t = tracer();
  const spanNames = new Map<string, string>();
  const names = (verb: 'publish' | 'process', channel: string): string => {
    const key = verb === 'publish' ? `>${channel}` : channel;
    let name = spanNames.get(key);
    if (name === undefined) spanNames.set(key, (name = `${verb} ${channel}`));
    return name;
  };
  return {
    publish(channel) {
      const parent = context.active();
      const span = t.startSpan(names('publish', channel), PRODUCER, parent);
      // Without a tracer provider the span has no valid context: skip the carrier so untraced
      // clusters store nothing extra. (A sampled-out span still has one, and still propagates.)
      if (!trace.isSpanContextValid(span.spanContext())) return undefined;
      span.setAttributes({ 'messaging.system': 'gossipless', 'messaging.destination.name': channel });
      const spanContext = trace.setSpan(parent, span);
      const carrier: Record<string, string> = {};
      propagation.inject(spanContext, carrier);
      return {
        carrier: Object.keys(carrier).length > 0 ? JSON.stringify(carrier) : undefined,
        context: spanContext,
        end: (error?: unknown) => endSpan(span, error),
      };
    },
    deliver(message, carrier, serverNowMs) {
      latency.record(
        Math.max(0, serverNowMs - message.publishedAt) / 1000,
        cached(message.channel, () => ({ 'gossipless.bus.channel': message.channel })),
      );
      // Options and names are constants or cached: with no SDK a delivery allocates nothing here.
      const span = t.startSpan(names('process', message.channel), CONSUMER, ROOT_CONTEXT);
      if (!span.isRecording()) return NOTHING_TO_END;
      span.setAttributes({
        'messaging.system': 'gossipless',
        'messaging.destination.name': message.channel,
        'messaging.message.id': message.id,
        'gossipless.bus.publisher': message.from,
      });
      const link = linkFrom(carrier);
      if (link) span.addLink({ context: link });
      return (failed) => {
        if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: 'a handler failed' });
        span.end();
      };
    },
    close,
  };
}

function linkFrom(carrier: unknown): ReturnType<typeof trace.getSpanContext> {
  if (typeof carrier !== 'string' || carrier.length === 0 || carrier.length > 1024) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(carrier);
  } catch {
    // Written by another process: a bad carrier only loses the link, never the message.
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, parsed));
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext : undefined;
}

function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : 'failed',
    });
  }
  span.end();
}

/** What a singleton run is told. */
export interface SingletonRunInfo {
  readonly name: string;
  readonly tick: number;
  readonly epoch: number;
  readonly signal: AbortSignal;
}

/** Hooks of the cluster's singleton jobs. */
export interface SingletonTelemetry {
  /**
   * Runs `job` inside a span `singleton <name>` (tick, epoch, outcome) and counts the run by
   * outcome: `aborted` when the signal fired, `failed` when it threw, else `ok`.
   */
  run<T>(info: SingletonRunInfo, job: () => Promise<T> | T): Promise<T>;
  /** A tick claim was refused: a newer epoch claimed this job. */
  fenced(name: string): void;
}

/** Instruments singleton jobs. */
export function singletonTelemetry(identity: TelemetryIdentity): SingletonTelemetry {
  const m = meter();
  const attributes = base(identity);
  const cached = attributeCache(attributes);
  const runs = counter(m, INSTRUMENTS.singletonRuns);
  const fenced = counter(m, INSTRUMENTS.singletonTicksFenced);
  const t = tracer();
  return {
    async run(info, job) {
      const span = t.startSpan(`singleton ${info.name}`, {
        attributes: {
          'gossipless.singleton.name': info.name,
          'gossipless.singleton.tick': info.tick,
          'gossipless.leader.epoch': info.epoch,
        },
      });
      const finish = (outcome: 'ok' | 'aborted' | 'failed', error?: unknown): void => {
        runs.add(
          1,
          cached(`${info.name}/${outcome}`, () => ({
            'gossipless.singleton.name': info.name,
            'gossipless.outcome': outcome,
          })),
        );
        span.setAttribute('gossipless.outcome', outcome);
        endSpan(span, outcome === 'failed' ? error : undefined);
      };
      try {
        const value = await context.with(trace.setSpan(context.active(), span), job);
        finish(info.signal.aborted ? 'aborted' : 'ok');
        return value;
      } catch (error) {
        finish(info.signal.aborted ? 'aborted' : 'failed', error);
        throw error;
      }
    },
    fenced: (name) =>
      fenced.add(
        1,
        cached(name, () => ({ 'gossipless.singleton.name': name })),
      ),
  };
}

/**
 * Billable storage transactions by kind, as a transaction counter keeps them (see the cost model).
 * Any object with this `snapshot()` can be observed.
 */
export interface TransactionSnapshotSource {
  snapshot(): Record<string, { requests: number; throttled: number }>;
}

/**
 * Exports a transaction counter's totals as `gossipless.storage.transactions` and
 * `gossipless.storage.throttled` (by `gossipless.storage.kind`). Returns the removal.
 */
export function observeStorageTransactions(
  source: TransactionSnapshotSource,
  identity: TelemetryIdentity,
): () => void {
  const m = meter();
  const cached = attributeCache(base(identity));
  const transactions = observable(m, INSTRUMENTS.storageTransactions);
  const throttled = observable(m, INSTRUMENTS.storageThrottled);
  return observe(m, [transactions, throttled], (result) => {
    for (const [kind, counts] of Object.entries(source.snapshot())) {
      const attributes = cached(kind, () => ({ 'gossipless.storage.kind': kind }));
      result.observe(transactions, counts.requests, attributes);
      result.observe(throttled, counts.throttled, attributes);
    }
  });
}
