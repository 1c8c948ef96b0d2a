export { Membership, MEMBERSHIP_DEFAULTS, suspectAfterMs } from './membership.js';
export type { MembershipOptions, MembershipEvents } from './membership.js';
export type { Member, MembershipView } from './member.js';
export { parseMemberRow } from './member.js';
