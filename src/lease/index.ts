export { LeaseElector } from './lease-elector.js';
export type { LeaseElectorEvents, DemotionReason, LeaseStopOptions } from './lease-elector.js';
export {
  resolveLeaseElectorOptions,
  MIN_LEASE_DURATION_MS,
  MAX_LEASE_DURATION_MS,
} from './lease-elector-options.js';
export type { LeaseElectorOptions, ResolvedLeaseElectorOptions } from './lease-elector-options.js';
export { readLeaderInfo } from './read-leader.js';
export type { LeaderInfo } from './read-leader.js';
export type { LeaderAnnouncer, LeaderAnnouncement } from './leader-announcer.js';
