export { readClusterStatus } from './read-cluster-status.js';
export type {
  ReadClusterStatusOptions,
  ClusterStatus,
  MemberStatus,
  ChannelStatus,
  LeaderChange,
} from './read-cluster-status.js';
