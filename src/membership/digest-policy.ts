/*
 * When the member digest pays for itself.
 *
 * The digest never saves a transaction: a follower's point read of it costs one request, as a list of
 * a partition of up to 1,000 members does, and the leader pays one write more each heartbeat. What it
 * saves is *entities read from one partition*: N² / heartbeat a second when every node lists, against
 * Azure's target of 2,000 a second per partition. So it is used only where that read rate would be a
 * noticeable share of the target; below, every node lists and the leader writes nothing (issue #11:
 * the digest write was 240 of an idle leader's 1,518 transactions an hour at 3 nodes).
 */

/** Azure's scalability target for one table partition, entities per second. */
export const PARTITION_ENTITIES_PER_SECOND = 2000;

/**
 * Followers read the digest instead of the partition once every node listing would read this many
 * entities a second from the member partition (10 % of the partition target): from 55 members at the
 * default 15 s heartbeat, 15 at a 1 s heartbeat.
 */
export const DIGEST_READ_FROM_ENTITIES_PER_SECOND = 200;

/**
 * The leader writes the digest from a lower rate (√0.75 ≈ 0.87 × the members), so that it is there
 * before followers, whose views may count a few members fewer or more while joins and leaves
 * settle, start to read it: from 48 members at 15 s.
 */
export const DIGEST_WRITE_FROM_ENTITIES_PER_SECOND = 150;

/** How the member partition is read: `true` always through the digest, `false` never, `'auto'` by cluster size. */
export type DigestMode = boolean | 'auto';

/** Entities a second every node listing the member partition would read: members² per heartbeat. */
export function partitionReadRate(members: number, heartbeatIntervalMs: number): number {
  return (members * members * 1000) / heartbeatIntervalMs;
}

/** Whether a follower that sees `members` members reads the digest (else it lists the partition). */
export function followerReadsDigest(mode: DigestMode, members: number, heartbeatIntervalMs: number): boolean {
  if (mode !== 'auto') return mode;
  return partitionReadRate(members, heartbeatIntervalMs) >= DIGEST_READ_FROM_ENTITIES_PER_SECOND;
}

/** Whether the leader that sees `members` members writes the digest. */
export function leaderWritesDigest(mode: DigestMode, members: number, heartbeatIntervalMs: number): boolean {
  if (mode !== 'auto') return mode;
  return partitionReadRate(members, heartbeatIntervalMs) >= DIGEST_WRITE_FROM_ENTITIES_PER_SECOND;
}
