import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Member } from './member.js';

/*
 * The member digest: one entity in which the digest writer (the leader, or the follower that took
 * the role while there is none) publishes the partition it has just read, so that every other node
 * learns the membership with one point read instead of reading the whole partition (issue #11).
 *
 * Layout: `format`, `writer`, `writerIsLeader`, `scannedAt` (the server's time of the read, ms),
 * `parts` and the entries — JSON, deflated, base64 — split over `p0` … `p<parts−1>`. Deflate
 * matters: every follower reads this entity every heartbeat (at N = 1,000 about 95 KB of JSON,
 * 10–15 KB deflated). Azure caps a string property at 64 KiB stored as UTF-16 and an entity at
 * 1 MiB: each part holds at most 32,000 base64 characters and at most 15 parts are written
 * (960,000 bytes). Metadata is dropped from the largest entries first when it does not fit;
 * readers then point-read those members' own rows.
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

/** The digest's wire form: the entries' JSON, deflated, as base64 text (ASCII: any split is safe, and its length is half its UTF-16 size). */
function pack(entries: readonly WireEntry[]): string {
  return deflateRawSync(Buffer.from(JSON.stringify(entries), 'utf8')).toString('base64');
}

/**
 * The properties of a digest entity for `members` (the live members of a partition read at
 * `scannedAt`), or undefined when even without metadata they do not fit one entity (tens of
 * thousands of members, depending on their ids): readers then read the partition themselves.
 */
export function encodeDigest(
  digest: { writer: string; writerIsLeader: boolean; scannedAt: number },
  members: readonly Member[],
): Record<string, string | number | boolean> | undefined {
  const budget = PART_CHARS * MAX_PARTS;
  const entries = members.map((m) => toWire(m, digest.scannedAt, true));
  let packed = pack(entries);
  if (packed.length > budget) {
    if (pack(members.map((m) => toWire(m, digest.scannedAt, false))).length > budget) return undefined;
    // Drop metadata from the largest entries first (a tenth of those left at a time, then pack
    // again): the fewest members need their row read.
    const bySize = entries
      .map((entry, index) => ({ index, length: JSON.stringify(entry.m ?? null).length }))
      .sort((a, b) => b.length - a.length);
    let dropped = 0;
    while (packed.length > budget && dropped < bySize.length) {
      const step = Math.max(1, Math.ceil((bySize.length - dropped) / 10));
      for (const { index } of bySize.slice(dropped, dropped + step)) delete entries[index]!.m;
      dropped += step;
      packed = pack(entries);
    }
    if (packed.length > budget) return undefined;
  }
  const properties: Record<string, string | number | boolean> = {
    format: DIGEST_FORMAT,
    writer: digest.writer,
    writerIsLeader: digest.writerIsLeader,
    scannedAt: digest.scannedAt,
    count: members.length,
  };
  let parts = 0;
  for (let at = 0; at < packed.length; at += PART_CHARS)
    properties[`p${parts++}`] = packed.slice(at, at + PART_CHARS);
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
    wire = JSON.parse(inflateRawSync(Buffer.from(json, 'base64')).toString('utf8'));
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
