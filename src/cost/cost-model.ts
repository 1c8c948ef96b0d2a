import { TABLE_BUS_DEFAULTS } from '../bus/index.js';
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
  /** The lease elector's `leaseDurationMs`. @default the runtime's (15000) */
  leaseDurationMs?: number;
  /** The lease elector's `renewIntervalMs`. @default the runtime's (leaseDurationMs / 3) */
  renewIntervalMs?: number;
  /** The lease elector's `retryIntervalMs` (followers' acquire period). @default the runtime's (2000) */
  retryIntervalMs?: number;
  /** Membership's `heartbeatIntervalMs`. @default the runtime's (5000) */
  heartbeatIntervalMs?: number;
  /** The bus's `pollIntervalMs`. @default the runtime's (1000) */
  pollIntervalMs?: number;
  /** The bus's `retentionMs` (the leader's retention pass runs every min(60 s, retentionMs / 4)). @default the runtime's */
  retentionMs?: number;
  /** Bus publish batches per node-hour (application traffic). @default 0 */
  publishBatchesPerHour?: number;
  /** Singleton ticks per hour across all jobs (each: a claim read and a conditional write, on the leader). @default 0 */
  singletonTicksPerHour?: number;
  /** Durable consumers (`consumerName`) on a node: each writes its cursor at most every 5 s while polling. @default 0 */
  durableConsumers?: number;
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
/** The bus writes a durable consumer's cursor at most this often. */
const CURSOR_WRITE_MS = 5000;
/** The leader's retention pass: at most every minute (or retentionMs / 4), one query for messages, one for dead letters. */
const RETENTION_PASS_MAX_MS = 60_000;
const RETENTION_QUERIES_PER_PASS = 2;

// The lease elector resolves its own defaults; the model asks it instead of copying them. Nothing
// is sent: the storage connection is only stored.
const NO_STORAGE = {} as StorageConnection;

/**
 * The timings the runtime uses when none are given, read from the runtime itself (the lease
 * elector's option resolver, membership's and the bus's default constants), so the model follows
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
  return {
    leaseDurationMs: lease.leaseDurationMs,
    renewIntervalMs: timings.renewIntervalMs ?? lease.renewIntervalMs,
    retryIntervalMs: timings.retryIntervalMs ?? lease.retryIntervalMs,
    heartbeatIntervalMs: timings.heartbeatIntervalMs ?? MEMBERSHIP_DEFAULTS.heartbeatIntervalMs,
    pollIntervalMs: timings.pollIntervalMs ?? TABLE_BUS_DEFAULTS.pollIntervalMs,
    retentionMs: timings.retentionMs ?? TABLE_BUS_DEFAULTS.retentionMs,
    publishBatchesPerHour: timings.publishBatchesPerHour ?? 0,
    singletonTicksPerHour: timings.singletonTicksPerHour ?? 0,
    durableConsumers: timings.durableConsumers ?? 0,
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
 * - lease: the leader renews every `renewIntervalMs`; each follower tries to acquire every
 *   `retryIntervalMs` (jittered ±25 %, so that on average)
 * - membership: every node upserts its row and lists the member partition every heartbeat (one
 *   request per 1,000 members listed)
 * - bus-poll: every node polls once per `pollIntervalMs` (one query for all its channels: every
 *   cluster node subscribes at least to the leader announcements)
 * - retention: the leader queries old messages and old dead letters every min(60 s, retentionMs / 4)
 * - tick-claim: a claim read and a conditional write per singleton tick, on the leader
 * - publish, cursor: the workload given
 *
 * Not modelled (not periodic): start-up calls, elections (an epoch read and write), deletes when
 * rows expire, extra pages of a backlog.
 */
export function transactionsPerNodeHour(
  timings: CostTimings = {},
  nodes = 3,
): { leader: NodeHourTransactions; follower: NodeHourTransactions } {
  const t = resolveCostTimings(timings);
  const pages = Math.max(1, Math.ceil(Math.max(1, nodes) / ENTITIES_PER_PAGE));
  const common = zeroKinds();
  common.membership = perHour(t.heartbeatIntervalMs) * (1 + pages);
  common['bus-poll'] = perHour(t.pollIntervalMs);
  common.publish = t.publishBatchesPerHour;
  common.cursor = t.durableConsumers * Math.min(perHour(t.pollIntervalMs), perHour(CURSOR_WRITE_MS));
  const leader = { ...common };
  leader.lease = perHour(t.renewIntervalMs);
  leader.retention = RETENTION_QUERIES_PER_PASS * perHour(Math.min(RETENTION_PASS_MAX_MS, t.retentionMs / 4));
  leader['tick-claim'] = 2 * t.singletonTicksPerHour;
  const follower = { ...common };
  follower.lease = perHour(t.retryIntervalMs);
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
  const { leader, follower } = transactionsPerNodeHour(timings, n);
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
    timings: resolveCostTimings(timings),
    prices,
    label: 'estimate',
  };
}

/** The replica counts `gossipless status --cost` prices when none are given. */
export const DEFAULT_REPLICA_COUNTS: readonly number[] = [3, 10, 50, 200, 1000];

function blobOtherPrice(prices: TransactionPrices): number {
  return prices.blobOtherPer10k ?? prices.blobReadPer10k;
}
