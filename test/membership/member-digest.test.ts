import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { decodeDigest, encodeDigest } from '../../src/membership/member-digest.js';
import type { Member } from '../../src/membership/index.js';

function member(i: number, metadata: Record<string, unknown> = { address: `10.0.0.${i}:80` }): Member {
  return {
    nodeId: `node-${i}`,
    metadata,
    startedAt: '2026-12-02T18:00:00.000Z',
    incarnation: i % 3,
    lastHeartbeatAt: 1_000_000 - i * 10,
    ageMs: i * 10,
    state: 'alive',
  };
}

const HEADER = { writer: 'node-0', writerIsLeader: true, scannedAt: 1_000_000 };

/** The entity as a reader gets it back: every value a string, number or boolean. */
function roundTrip(properties: Record<string, string | number | boolean>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(properties)) as Record<string, unknown>;
}

describe('member digest', () => {
  it('round-trips members: heartbeat times, incarnations, metadata and the leader’s renewal', () => {
    const members = [
      { ...member(0), leader: { epoch: 7, leaseRenewedAt: 999_000 } },
      member(1, { name: 'zoë ☃ 𝄞', nested: { list: [1, 2] } }),
      member(2),
    ];
    const digest = decodeDigest(roundTrip(encodeDigest(HEADER, members)!))!;
    expect(digest).toMatchObject({ writer: 'node-0', writerIsLeader: true, scannedAt: 1_000_000 });
    expect(digest.entries).toEqual(
      members.map((m) => ({
        nodeId: m.nodeId,
        lastHeartbeatAt: m.lastHeartbeatAt,
        incarnation: m.incarnation,
        startedAt: m.startedAt,
        metadata: m.metadata,
        ...(m.leader ? { leader: m.leader } : {}),
      })),
    );
  });

  it('keeps within Azure’s limits: deflated, base64 parts of at most 32,000 characters (64 KiB as UTF-16), at most 15', () => {
    // Incompressible metadata (random base64), 1,000 members: about 700 KB of JSON.
    const members = Array.from({ length: 1000 }, (_, i) =>
      member(i, { address: `10.0.${i}:80`, key: randomBytes(500).toString('base64'), zone: 'zoë' }),
    );
    const properties = encodeDigest(HEADER, members)!;
    const parts = properties['parts'] as number;
    expect(parts).toBeGreaterThan(1);
    expect(parts).toBeLessThanOrEqual(15);
    let stored = 0;
    for (let i = 0; i < parts; i++) {
      const part = properties[`p${i}`] as string;
      expect(part.length).toBeLessThanOrEqual(32_000);
      expect(part).toMatch(/^[A-Za-z0-9+/=]*$/);
      stored += part.length * 2;
    }
    expect(stored).toBeLessThan(1024 * 1024 - 4096);
    const digest = decodeDigest(roundTrip(properties))!;
    expect(digest.entries).toHaveLength(1000);
    expect(digest.entries[999]!.metadata).toEqual(members[999]!.metadata);
  });

  it('deflates: 1,000 members with an address each fit one part', () => {
    const members = Array.from({ length: 1000 }, (_, i) => member(i));
    const properties = encodeDigest(HEADER, members)!;
    expect(properties['parts']).toBe(1);
    expect((properties['p0'] as string).length).toBeLessThan(32_000);
  });

  it('drops metadata from the largest entries first when the members do not fit, and gives up beyond one entity', () => {
    // 17 × 30,000 incompressible characters: over the 480,000 of 15 parts once deflated and base64'd.
    const big = (i: number): Member => member(i, { blob: randomBytes(22_500 + i * 10).toString('base64') });
    const members = [...Array.from({ length: 17 }, (_, i) => big(i)), member(17)];
    const digest = decodeDigest(roundTrip(encodeDigest(HEADER, members)!))!;
    const without = digest.entries.filter((e) => e.metadata === undefined).map((e) => e.nodeId);
    expect(without.length).toBeGreaterThan(0);
    // The largest first (node-16, node-15, …); the small member keeps its metadata.
    expect(without).toEqual(
      Array.from({ length: without.length }, (_, k) => `node-${17 - without.length + k}`),
    );
    expect(without).not.toContain('node-17');
    expect(digest.entries).toHaveLength(18);
    expect(digest.entries.find((e) => e.nodeId === 'node-0')!.metadata).toEqual(members[0]!.metadata);
    const tooMany = Array.from({ length: 100_000 }, (_, i) => ({
      ...member(i),
      nodeId: randomBytes(12).toString('hex'),
    }));
    expect(encodeDigest(HEADER, tooMany)).toBeUndefined();
  });

  it('refuses what it cannot read: another format, a missing part, a claim without data', () => {
    const properties = roundTrip(encodeDigest(HEADER, [member(1)])!);
    expect(decodeDigest({ ...properties, format: 2 })).toBeUndefined();
    expect(decodeDigest({ ...properties, parts: 2 })).toBeUndefined();
    expect(decodeDigest({ writer: 'a', writerIsLeader: false })).toBeUndefined();
  });
});
