import type { Member } from './member.js';

/*
 * The member digest: one entity in which the digest writer (the leader, or the follower that took
 * the role while there is none) publishes the partition it has just read, so that every other node
 * learns the membership with one point read instead of reading the whole partition (issue #11).
 *
 * Layout: `format`, `writer`, `writerIsLeader`, `scannedAt` (the server's time of the read, ms),
 * `parts` and the JSON of the entries split over `p0` … `p<parts−1>`. Azure caps a string property
 * at 64 KiB stored as UTF-16 and an entity at 1 MiB: the JSON is kept ASCII (so a split never cuts
 * a surrogate pair and its length is its size / 2), each part holds at most 32,000 characters, and
 * at most 15 parts are written (960,000 bytes). Metadata is dropped from the largest entries first
 * when it does not fit; readers then point-read those members' own rows.
 */

/** Version of the digest layout; a reader ignores a digest of another format (and reads the partition). */
export const DIGEST_FORMAT = 1;
const PART_CHARS = 32_000;
const MAX_PARTS = 15;

/** One member in a digest. */
export interface DigestEntry {
  nodeId: string;
  /** Server time of its last heartbeat (its row's Timestamp), ms since epoch. */
  lastHeartbeatAt: number;
  incarnation: number;
  startedAt: string;
  /** Undefined when it did not fit: read the member's row. */
  metadata: Record<string, unknown> | undefined;
  leader?: { epoch: number; leaseRenewedAt: number };
}

/** A digest as read back. */
export interface MemberDigest {
  writer: string;
  writerIsLeader: boolean;
  /** Server time of the partition read the digest was made from. */
  scannedAt: number;
  entries: DigestEntry[];
}

/** Compact wire form of an entry: short names, the heartbeat as an age at the scan. */
interface WireEntry {
  n: string;
  a: number;
  i: number;
  s: string;
  m?: Record<string, unknown>;
  l?: [number, number];
}

function toWire(member: Member, scannedAt: number, withMetadata: boolean): WireEntry {
  return {
    n: member.nodeId,
    a: scannedAt - member.lastHeartbeatAt,
    i: member.incarnation,
    s: member.startedAt,
    ...(withMetadata ? { m: member.metadata } : {}),
    ...(member.leader ? { l: [member.leader.epoch, member.leader.leaseRenewedAt] as [number, number] } : {}),
  };
}

/** JSON with every non-ASCII character escaped: its length is its UTF-16 size / 2, and any split is safe. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The properties of a digest entity for `members` (the live members of a partition read at
 * `scannedAt`), or undefined when even without metadata they do not fit one entity (about 6,000
 * members): readers then read the partition themselves.
 */
export function encodeDigest(
  digest: { writer: string; writerIsLeader: boolean; scannedAt: number },
  members: readonly Member[],
): Record<string, string | number | boolean> | undefined {
  const budget = PART_CHARS * MAX_PARTS;
  const withMetadata = members.map((m) => asciiJson(toWire(m, digest.scannedAt, true)));
  let size = withMetadata.reduce((sum, json) => sum + json.length + 1, 2);
  const chosen = [...withMetadata];
  if (size > budget) {
    // Drop metadata from the largest entries first: the fewest members need a row read.
    const bySize = withMetadata
      .map((json, index) => ({ index, length: json.length }))
      .sort((a, b) => b.length - a.length);
    for (const { index } of bySize) {
      if (size <= budget) break;
      const bare = asciiJson(toWire(members[index]!, digest.scannedAt, false));
      size -= chosen[index]!.length - bare.length;
      chosen[index] = bare;
    }
    if (size > budget) return undefined;
  }
  const json = `[${chosen.join(',')}]`;
  const properties: Record<string, string | number | boolean> = {
    format: DIGEST_FORMAT,
    writer: digest.writer,
    writerIsLeader: digest.writerIsLeader,
    scannedAt: digest.scannedAt,
    count: members.length,
  };
  let parts = 0;
  for (let at = 0; at < json.length; at += PART_CHARS)
    properties[`p${parts++}`] = json.slice(at, at + PART_CHARS);
  properties['parts'] = parts;
  return properties;
}

/** Reads a digest entity; undefined when it is not a digest this version can read (the caller reads the partition). */
export function decodeDigest(row: Record<string, unknown>): MemberDigest | undefined {
  const { format, writer, writerIsLeader, scannedAt, parts } = row;
  if (format !== DIGEST_FORMAT || typeof writer !== 'string' || typeof scannedAt !== 'number')
    return undefined;
  if (typeof parts !== 'number' || !Number.isInteger(parts) || parts < 1 || parts > MAX_PARTS)
    return undefined;
  let json = '';
  for (let i = 0; i < parts; i++) {
    const part = row[`p${i}`];
    if (typeof part !== 'string') return undefined;
    json += part;
  }
  let wire: unknown;
  try {
    wire = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(wire)) return undefined;
  const entries: DigestEntry[] = [];
  for (const item of wire as Array<Partial<WireEntry> | null>) {
    if (!item || typeof item.n !== 'string' || typeof item.a !== 'number') return undefined;
    const metadata = item.m && typeof item.m === 'object' && !Array.isArray(item.m) ? item.m : undefined;
    entries.push({
      nodeId: item.n,
      lastHeartbeatAt: scannedAt - item.a,
      incarnation: typeof item.i === 'number' ? item.i : 0,
      startedAt: typeof item.s === 'string' ? item.s : '',
      metadata,
      ...(Array.isArray(item.l) && typeof item.l[0] === 'number' && typeof item.l[1] === 'number'
        ? { leader: { epoch: item.l[0], leaseRenewedAt: item.l[1] } }
        : {}),
    });
  }
  return { writer, writerIsLeader: writerIsLeader === true, scannedAt, entries };
}
