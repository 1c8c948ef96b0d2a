import { resolveTableBusTimings } from '../bus/index.js';
import { resolveLeaseElectorOptions } from '../lease/index.js';
import { MEMBERSHIP_DEFAULTS } from '../membership/index.js';
import {
  STORAGE_TRANSACTION_KINDS,
  type StorageConnection,
  type StorageTransactionKind,
} from '../storage/index.js';
import { DEFAULT_PRICES, type TransactionPrices } from './prices.js';

/**
 * What drives a node's storage transactions: the runtime's timings and the application's workload.
 * Every timing left out is the runtime's own default (see {@link runtimeCostTimings}).
 */
export interface CostTimings {
  /** The lease elector's `leaseDurationMs`. @default the runtime's */
  leaseDurationMs?: number;
  /**
   * The lease elector's `renewIntervalMs` R: the leader renews on a grid of period R written on the
   * lease blob, and each follower looks at the lease once per R. @default the runtime's
   */
  renewIntervalMs?: number;
  /**
   * The lease elector's `retryIntervalMs`: followers' attempt period only while no renewal grid is
   * known (a leader of an older version); not in the idle figures. @default the runtime's
   */
  retryIntervalMs?: number;
  /** Membership's `heartbeatIntervalMs`. @default the runtime's (MEMBERSHIP_DEFAULTS) */
  heartbeatIntervalMs?: number;
  /** The bus's `pollIntervalMs` (while messages flow). @default the runtime's */
  pollIntervalMs?: number;
  /** The bus's `idlePollIntervalMs`: the pause between polls of an idle node. @default the runtime's */
  idlePollIntervalMs?: number;
  /** The bus's `pollJitter`: each pause is shortened by up to this fraction. @default the runtime's */
  pollJitter?: number;
  /** The bus's `retentionMs` (an idle leader's retention pass runs every retentionMs / 2). @default the runtime's */
  retentionMs?: number;
  /** Bus publish batches per node-hour (application traffic). @default 0 */
  publishBatchesPerHour?: number;
  /** Singleton ticks per hour across all jobs (each: one write conditional on the leader's previous claim, on the leader). @default 0 */
  singletonTicksPerHour?: number;
}

/** {@link CostTimings} with every value filled in. */
export type ResolvedCostTimings = Required<CostTimings>;

/** Transactions one node makes per hour, split by service and by kind. */
export interface NodeHourTransactions {
  /** Blob requests (the lease), priced as blob "other" operations. */
  blob: number;
  /** Table requests. */
  table: number;
  total: number;
  byKind: Record<StorageTransactionKind, number>;
}

/** A cost estimate for a cluster of `nodes` nodes (one leader). All money figures are estimates. */
export interface CostEstimate {
  leader: NodeHourTransactions;
  follower: NodeHourTransactions;
  nodes: number;
  clusterPerHour: number;
  /** The whole cluster's transactions per hour by kind. */
  clusterByKindPerHour: Record<StorageTransactionKind, number>;
  /** USD per month (730 h) for the whole cluster. */
  monthlyUsd: number;
  /** The timings the estimate used, defaults filled in. */
  timings: ResolvedCostTimings;
  prices: TransactionPrices;
  label: 'estimate';
}

const HOUR_MS = 3_600_000;
/** Azure returns at most 1,000 entities per query response: bigger lists take more requests. */
const ENTITIES_PER_PAGE = 1000;
/**
 * The leader's retention pass: one query for expired messages and dead letters; after a pass that
 * found nothing the pause doubles up to retentionMs / 2, where an idle leader stays.
 */
const IDLE_RETENTION_PASS_FRACTION = 0.5;

// The lease elector resolves its own defaults; the model asks it instead of copying them. Nothing
// is sent: the storage connection is only stored.
const NO_STORAGE = {} as StorageConnection;

/**
 * The timings the runtime uses when none are given, read from the runtime itself (the lease
 * elector's and the bus's option resolvers, membership's default constants), so the model follows
 * when a default changes.
 */
export function runtimeCostTimings(): ResolvedCostTimings {
  return resolveCostTimings({});
}

/** Fills in `timings` with the runtime's defaults (a custom lease duration moves the default renew interval). */
export function resolveCostTimings(timings: CostTimings): ResolvedCostTimings {
  const lease = resolveLeaseElectorOptions({
    storage: NO_STORAGE,
    cluster: 'cost-model',
    nodeId: 'cost-model',
    ...(timings.leaseDurationMs !== undefined ? { leaseDurationMs: timings.leaseDurationMs } : {}),
  });
  const bus = resolveTableBusTimings({
    ...(timings.pollIntervalMs !== undefined ? { pollIntervalMs: timings.pollIntervalMs } : {}),
    ...(timings.retentionMs !== undefined ? { retentionMs: timings.retentionMs } : {}),
    ...(timings.pollJitter !== undefined ? { pollJitter: timings.pollJitter } : {}),
    // An idle pause below a given poll interval is raised to it (a fixed-rate poll).
    idlePollIntervalMs:
      timings.idlePollIntervalMs ??
      Math.max(resolveTableBusTimings({}).idlePollIntervalMs, timings.pollIntervalMs ?? 0),
  });
  return {
    leaseDurationMs: lease.leaseDurationMs,
    renewIntervalMs: timings.renewIntervalMs ?? lease.renewIntervalMs,
    retryIntervalMs: timings.retryIntervalMs ?? lease.retryIntervalMs,
    heartbeatIntervalMs: timings.heartbeatIntervalMs ?? MEMBERSHIP_DEFAULTS.heartbeatIntervalMs,
    pollIntervalMs: bus.pollIntervalMs,
    idlePollIntervalMs: bus.idlePollIntervalMs,
    pollJitter: bus.pollJitter,
    retentionMs: bus.retentionMs,
    publishBatchesPerHour: timings.publishBatchesPerHour ?? 0,
    singletonTicksPerHour: timings.singletonTicksPerHour ?? 0,
  };
}

function zeroKinds(): Record<StorageTransactionKind, number> {
  return Object.fromEntries(STORAGE_TRANSACTION_KINDS.map((k) => [k, 0])) as Record<
    StorageTransactionKind,
    number
  >;
}

function perHour(everyMs: number): number {
  return HOUR_MS / everyMs;
}

/**
 * Storage transactions per node-hour of an idle node (plus the workload given), by kind, for a
 * cluster of `nodes` nodes. One line per periodic call the runtime makes:
 *
 * - lease: the leader renews every `renewIntervalMs` on a grid it writes on the blob; each
 *   follower reads the blob once per grid instant (a Get Blob Properties, then an acquire only
 *   when the lease is free)
 * - membership: every node upserts its row every heartbeat; followers point-read the member digest,
 *   the leader lists the member partition (one request per 1,000 members) and rewrites the digest
 * - bus-poll: an idle node polls once per `idlePollIntervalMs`, shortened by the jitter (half of
 *   `pollJitter` on average), one query for all its channels (every cluster node subscribes at least
 *   to the leader announcements); while messages flow it polls every `pollIntervalMs` instead
 * - retention: an idle leader queries expired messages and dead letters once per retentionMs / 2
 * - tick-claim: one conditional write per singleton tick, on the leader (it knows the row's ETag from
 *   its previous claim; a read as well only for its first claim of a term's job or after another writer)
 * - publish: the workload given
 *
 * Durable consumers write their cursor only when it moved (with traffic): nothing while idle.
 *
 * Not modelled (not periodic): start-up calls, elections (an epoch read and write), deletes when
 * rows expire, extra pages of a backlog.
 */
export function transactionsPerNodeHour(
  timings: CostTimings = {},
  nodes = 3,
): { leader: NodeHourTransactions; follower: NodeHourTransactions } {
  return nodeHour(resolveCostTimings(timings), nodes);
}

function nodeHour(
  t: ResolvedCostTimings,
  nodes: number,
): { leader: NodeHourTransactions; follower: NodeHourTransactions } {
  const pages = Math.max(1, Math.ceil(Math.max(1, nodes) / ENTITIES_PER_PAGE));
  const common = zeroKinds();
  // Each heartbeat: an upsert of the node's row, then the follower point-reads the member digest
  // while the leader lists the partition (a request per 1,000 members) and rewrites the digest.
  common.membership = perHour(t.heartbeatIntervalMs) * 2;
  common['bus-poll'] = perHour(t.idlePollIntervalMs * (1 - t.pollJitter / 2));
  common.publish = t.publishBatchesPerHour;
  const leader = { ...common };
  leader.lease = perHour(t.renewIntervalMs);
  leader.membership = perHour(t.heartbeatIntervalMs) * (2 + pages);
  leader.retention = perHour(t.retentionMs * IDLE_RETENTION_PASS_FRACTION);
  leader['tick-claim'] = t.singletonTicksPerHour;
  const follower = { ...common };
  follower.lease = perHour(t.renewIntervalMs);
  return { leader: summarise(leader), follower: summarise(follower) };
}

function summarise(byKind: Record<StorageTransactionKind, number>): NodeHourTransactions {
  const rounded = zeroKinds();
  for (const kind of STORAGE_TRANSACTION_KINDS) rounded[kind] = Math.round(byKind[kind]);
  const blob = rounded.lease;
  const total = STORAGE_TRANSACTION_KINDS.reduce((sum, kind) => sum + rounded[kind], 0);
  return { blob, table: total - blob, total, byKind: rounded };
}

/**
 * Monthly estimate for `nodes` nodes (one leader, the rest followers). Lease calls are priced as
 * blob "other" operations (Azure's category for Lease Blob on general-purpose v2 accounts), every
 * table request as a table transaction.
 *
 * @example
 * ```ts
 * const estimate = estimateCost(50);             // the runtime's defaults, list prices
 * console.log(estimate.clusterPerHour, estimate.monthlyUsd, estimate.label);
 * ```
 */
export function estimateCost(
  nodes: number,
  timings: CostTimings = {},
  prices: TransactionPrices = DEFAULT_PRICES,
): CostEstimate {
  const n = Math.max(1, Math.floor(nodes));
  const resolved = resolveCostTimings(timings);
  const { leader, follower } = nodeHour(resolved, n);
  const clusterByKindPerHour = zeroKinds();
  for (const kind of STORAGE_TRANSACTION_KINDS) {
    clusterByKindPerHour[kind] = leader.byKind[kind] + follower.byKind[kind] * (n - 1);
  }
  const blobPerHour = leader.blob + follower.blob * (n - 1);
  const tablePerHour = leader.table + follower.table * (n - 1);
  const hourUsd =
    (blobPerHour / 10_000) * blobOtherPrice(prices) + (tablePerHour / 10_000) * prices.tablePer10k;
  return {
    leader,
    follower,
    nodes: n,
    clusterPerHour: blobPerHour + tablePerHour,
    clusterByKindPerHour,
    monthlyUsd: Math.round(hourUsd * 730 * 100) / 100,
    timings: resolved,
    prices,
    label: 'estimate',
  };
}

/** The replica counts `gossipless status --cost` prices when none are given. */
export const DEFAULT_REPLICA_COUNTS: readonly number[] = [3, 10, 50, 200, 1000];

function blobOtherPrice(prices: TransactionPrices): number {
  return prices.blobOtherPer10k ?? prices.blobReadPer10k;
}
