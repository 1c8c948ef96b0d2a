export { readClusterStatus } from './read-cluster-status.js';
export type {
  ReadClusterStatusOptions,
  ClusterStatus,
  MemberStatus,
  ChannelStatus,
  LeaderChange,
  DeadLetterStatus,
} from './read-cluster-status.js';
