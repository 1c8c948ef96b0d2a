export { readClusterStatus } from './read-cluster-status.js';
export type {
  ReadClusterStatusOptions,
  ClusterStatus,
  MemberStatus,
  ChannelStatus,
  LeaderChange,
  DeadLetterStatus,
} from './read-cluster-status.js';
export { healthyRenewalAgeMs, renewalWarning } from './renewal-warning.js';
export type { RenewalTimings } from './renewal-warning.js';
