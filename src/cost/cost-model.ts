import { DEFAULT_PRICES, type TransactionPrices } from './prices.js';

/** The timings that drive storage transactions. Defaults are the core's defaults. */
export interface CostTimings {
  /** @default 5000 */
  renewIntervalMs?: number;
  /** @default 2000 */
  retryIntervalMs?: number;
  /** @default 5000 */
  heartbeatIntervalMs?: number;
  /** @default 1000 */
  pollIntervalMs?: number;
  /** Bus publish batches per node-hour (application traffic). @default 0 */
  publishBatchesPerHour?: number;
  /** Singleton ticks per hour across all jobs (each costs a read and a conditional write on the leader). @default 0 */
  singletonTicksPerHour?: number;
}

/** Transactions one node makes per hour, split by service. */
export interface NodeHourTransactions {
  blob: number;
  table: number;
  total: number;
}

/** A cost estimate for a cluster. All money figures are estimates. */
export interface CostEstimate {
  leader: NodeHourTransactions;
  follower: NodeHourTransactions;
  nodes: number;
  clusterPerHour: number;
  /** USD per month (730 h) for the whole cluster. */
  monthlyUsd: number;
  prices: TransactionPrices;
  label: 'estimate';
}

const HOUR_MS = 3_600_000;

/**
 * Storage transactions per node-hour at the given timings. Followers try to acquire every retry;
 * the leader renews; every node heartbeats (upsert + list) and polls the bus with one query for all
 * its channels.
 */
export function transactionsPerNodeHour(timings: CostTimings = {}): {
  leader: NodeHourTransactions;
  follower: NodeHourTransactions;
} {
  const renew = HOUR_MS / (timings.renewIntervalMs ?? 5000);
  const acquire = HOUR_MS / (timings.retryIntervalMs ?? 2000);
  const heartbeat = (HOUR_MS / (timings.heartbeatIntervalMs ?? 5000)) * 2;
  const poll = HOUR_MS / (timings.pollIntervalMs ?? 1000);
  const publish = timings.publishBatchesPerHour ?? 0;
  const singleton = (timings.singletonTicksPerHour ?? 0) * 2;
  const table = heartbeat + poll + publish;
  const leader = { blob: renew, table: table + singleton, total: renew + table + singleton };
  const follower = { blob: acquire, table, total: acquire + table };
  return { leader: round(leader), follower: round(follower) };
}

function round(t: NodeHourTransactions): NodeHourTransactions {
  return { blob: Math.round(t.blob), table: Math.round(t.table), total: Math.round(t.total) };
}

/** Monthly estimate for `nodes` nodes (one leader). Lease calls are priced as blob writes. */
export function estimateCost(
  nodes: number,
  timings: CostTimings = {},
  prices: TransactionPrices = DEFAULT_PRICES,
): CostEstimate {
  const { leader, follower } = transactionsPerNodeHour(timings);
  const n = Math.max(1, Math.floor(nodes));
  const blobPerHour = leader.blob + follower.blob * (n - 1);
  const tablePerHour = leader.table + follower.table * (n - 1);
  const hourUsd =
    (blobPerHour / 10_000) * prices.blobWritePer10k + (tablePerHour / 10_000) * prices.tablePer10k;
  return {
    leader,
    follower,
    nodes: n,
    clusterPerHour: blobPerHour + tablePerHour,
    monthlyUsd: Math.round(hourUsd * 730 * 100) / 100,
    prices,
    label: 'estimate',
  };
}
