export { Cluster, createCluster, TRANSACTIONS_PER_HOUR_PROPERTY } from './cluster.js';
export type {
  ClusterOptions,
  ClusterEvents,
  SingletonContext,
  SingletonJob,
  SingletonOptions,
} from './cluster.js';
export { handleShutdownSignals } from './shutdown-signals.js';
export type { ShutdownSignalOptions } from './shutdown-signals.js';
export { LEADER_CHANNEL, busLeaderAnnouncer } from './bus-announcer.js';
export { claimTick, highestClaimedEpoch } from './singleton-claim.js';
export type { ClaimOutcome, ClaimResult, WrittenClaim } from './singleton-claim.js';
export { judgeClusterHealth } from './cluster-health.js';
export type { ClusterHealth, ClusterHealthInputs } from './cluster-health.js';
