export { Membership, MEMBERSHIP_DEFAULTS } from './membership.js';
export type { MembershipOptions, MembershipEvents } from './membership.js';
export type { Member, MembershipView } from './member.js';
export { parseMemberRow } from './member.js';
export {
  DIGEST_READ_FROM_ENTITIES_PER_SECOND,
  DIGEST_WRITE_FROM_ENTITIES_PER_SECOND,
  PARTITION_ENTITIES_PER_SECOND,
  followerReadsDigest,
  leaderWritesDigest,
  partitionReadRate,
} from './digest-policy.js';
export type { DigestMode } from './digest-policy.js';
