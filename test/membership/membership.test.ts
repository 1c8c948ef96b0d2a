import { afterEach, describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Membership, type MembershipOptions } from '../../src/membership/index.js';
import { ServerTimeEstimate, skewedClock, systemClock } from '../../src/clock/index.js';
import { azuriteConnectionString } from '../../src/dev/index.js';
import { connectStorage } from '../../src/storage/index.js';
import { memberPartition } from '../../src/table-layout/index.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';

const started: Membership[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
});

const FAST = { heartbeatIntervalMs: 200, memberTtlMs: 1500, tablePrefix: 'memtest' } as const;

function member(options: Partial<MembershipOptions> & { cluster: string; nodeId: string }): Membership {
  const m = new Membership({ storage: testStorage(), ...FAST, ...options });
  started.push(m);
  return m;
}

function ids(m: Membership): string[] {
  return m
    .members()
    .map((x) => x.nodeId)
    .sort();
}

describe('Membership', () => {
  it('lets three nodes see each other with their metadata, and emits join', async () => {
    const cluster = uniqueName('m');
    const nodes = ['a', 'b', 'c'].map((nodeId) =>
      member({ cluster, nodeId, metadata: { address: `${nodeId}:80` } }),
    );
    const joins: string[] = [];
    nodes[0]!.on('join', (m) => joins.push(m.nodeId));
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.members().length === 3), 5000, 'full views');
    expect(ids(nodes[0]!)).toEqual(['a', 'b', 'c']);
    expect(nodes[1]!.members().find((m) => m.nodeId === 'c')?.metadata).toEqual({ address: 'c:80' });
    expect(joins.sort()).toEqual(['a', 'b', 'c']);
  });

  it('sees a graceful leave at the next heartbeat (the row is deleted)', async () => {
    const cluster = uniqueName('m');
    const a = member({ cluster, nodeId: 'a' });
    const b = member({ cluster, nodeId: 'b' });
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => a.members().length === 2, 5000, 'b to join');
    const left: string[] = [];
    a.on('leave', (m) => left.push(m.nodeId));
    const at = Date.now();
    await b.stop();
    await waitFor(() => left.includes('b'), 2000, 'leave');
    expect(Date.now() - at).toBeLessThan(1000);
  });

  it('judges a silent node dead by the server clock, even when the observer clock is a minute off', async () => {
    const cluster = uniqueName('m');
    const observer = member({ cluster, nodeId: 'observer', clock: skewedClock(60_000) });
    await observer.start();
    // A node that wrote its row once and died (kill -9: no graceful delete).
    await testStorage()
      .tableClient(observer.tableName)
      .upsertEntity({
        partitionKey: memberPartition(cluster),
        rowKey: 'ghost',
        nodeId: 'ghost',
        metadata: '{}',
        startedAt: '',
        incarnation: 0,
      });
    await waitFor(() => ids(observer).includes('ghost'), 3000, 'ghost visible');
    const left: string[] = [];
    observer.on('leave', (m) => left.push(m.nodeId));
    await waitFor(() => left.includes('ghost'), 4000, 'ghost to leave');
    expect(ids(observer)).toEqual(['observer']);
  });

  it('judges ages by the server-time estimate, not the truncated Date header (within 100 ms)', async () => {
    const cluster = uniqueName('m');
    const serverTime = new ServerTimeEstimate(systemClock);
    const node = member({
      cluster,
      nodeId: 'a',
      heartbeatIntervalMs: 60_000,
      memberTtlMs: 120_000,
      serverTime,
    });
    await node.start();
    await waitFor(() => node.members().length === 1, 5000, 'own row');
    // Reads spread over the server's second narrow the estimate (the header alone is ±500 ms).
    for (let i = 0; i < 20; i++) {
      await node.refresh();
      await delay(53);
    }
    const errors: number[] = [];
    for (let i = 0; i < 8; i++) {
      const view = await node.refresh();
      // Azurite runs on this machine: its clock, which stamped the row, is Date.now().
      const truth = Date.now();
      const own = view.members[0]!;
      errors.push(Math.abs(own.ageMs - (truth - own.lastHeartbeatAt)));
      await delay(53);
    }
    // By the header alone, a row looks up to a second younger than it is.
    expect(Math.max(...errors)).toBeLessThanOrEqual(100);
    // The heartbeat and list calls passed their send times: the estimate has an upper bound.
    expect(serverTime.uncertaintyMs()).toBeLessThan(100);
  });

  it('emits update when a member changes its metadata', async () => {
    const cluster = uniqueName('m');
    const a = member({ cluster, nodeId: 'a' });
    const b = member({ cluster, nodeId: 'b', metadata: { v: 1 } });
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => a.members().length === 2, 5000, 'b to join');
    const updates: unknown[] = [];
    a.on('update', (m) => updates.push(m.metadata));
    await b.update({ v: 2 });
    await waitFor(() => updates.length > 0, 3000, 'update');
    expect(updates).toEqual([{ v: 2 }]);
  });

  it('has the leader delete long-dead rows in batches of at most 100, malformed ones included', async () => {
    const cluster = uniqueName('m');
    const table = testStorage().tableClient('memtestbus');
    await testStorage().createTableIfNotExists('memtestbus');
    for (let i = 0; i < 150; i += 50) {
      await table.submitTransaction(
        [...Array(50).keys()].map((j) => [
          'upsert',
          {
            partitionKey: memberPartition(cluster),
            rowKey: `dead-${i + j}`,
            nodeId: `dead-${i + j}`,
            metadata: '{}',
            startedAt: '',
            incarnation: 0,
          },
        ]),
      );
    }
    await table.upsertEntity({
      partitionKey: memberPartition(cluster),
      rowKey: 'broken',
      nodeId: 'broken',
      metadata: '{oops',
    });
    let leader = false;
    const a = member({ cluster, nodeId: 'a', gcAfterMs: 1500, isLeader: () => leader });
    await a.start();
    await waitFor(() => a.stats.lists > 0, 3000, 'first view');
    expect(a.stats.gcDeleted).toBe(0);
    expect(a.stats.malformedRows).toBeGreaterThan(0);
    leader = true;
    await waitFor(() => a.stats.gcDeleted >= 151, 6000, 'garbage collection');
    expect(a.stats.gcDeleted).toBe(151);
    const left = [];
    for await (const row of table.listEntities({
      queryOptions: { filter: `PartitionKey eq 'm:${cluster}'` },
    })) {
      left.push(row.rowKey);
    }
    expect(left).toEqual(['a']);
  });

  it('leaves even when the first delete of its row meets a reset connection', async () => {
    const cluster = uniqueName('m');
    const tableUrl = new URL(inject('azuriteTableEndpoint'));
    const proxy = new FaultProxy(tableUrl.hostname, Number(tableUrl.port));
    await proxy.listen();
    try {
      const storage = connectStorage({
        connectionString: azuriteConnectionString(
          inject('azuriteBlobEndpoint'),
          `http://127.0.0.1:${proxy.port}/devstoreaccount1`,
        ),
      });
      const leaving = new Membership({ storage, ...FAST, cluster, nodeId: 'leaving' });
      const errors: string[] = [];
      leaving.on('error', ({ during }) => errors.push(during));
      const watcher = member({ cluster, nodeId: 'watcher' });
      await Promise.all([leaving.start(), watcher.start()]);
      await waitFor(() => ids(watcher).includes('leaving'), 3000, 'leaving seen');
      // Connections are reset for a moment, as when storage closes idle keep-alive sockets.
      proxy.setMode({ kind: 'drop' });
      setTimeout(() => proxy.setMode({ kind: 'pass' }), 150);
      await leaving.stop();
      await watcher.refresh();
      expect(ids(watcher)).toEqual(['watcher']);
      expect(errors.filter((during) => during === 'leave')).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describe('Membership digest (followers read one entity, issue #11)', () => {
  /** A member whose storage path can be cut (a crash: no graceful delete, heartbeats stop). */
  async function cuttable(
    options: Partial<MembershipOptions> & { cluster: string; nodeId: string },
  ): Promise<{ membership: Membership; cut: () => void }> {
    const tableUrl = new URL(inject('azuriteTableEndpoint'));
    const proxy = new FaultProxy(tableUrl.hostname, Number(tableUrl.port));
    await proxy.listen();
    const storage = connectStorage({
      connectionString: azuriteConnectionString(
        inject('azuriteBlobEndpoint'),
        `http://127.0.0.1:${proxy.port}/devstoreaccount1`,
      ),
    });
    const membership = new Membership({ storage, ...FAST, ...options });
    started.push(membership);
    closeAfter.push(() => proxy.close());
    return { membership, cut: () => proxy.setMode({ kind: 'drop' }) };
  }
  const closeAfter: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((m) => m.stop()));
    await Promise.all(closeAfter.splice(0).map((close) => close()));
  });

  it('has followers read the digest, not the partition, while the leader reads the partition', async () => {
    const cluster = uniqueName('m');
    const leader = member({ cluster, nodeId: 'leader', isLeader: () => true, metadata: { role: 'l' } });
    const followers = ['f1', 'f2', 'f3'].map((nodeId) =>
      member({ cluster, nodeId, metadata: { n: nodeId } }),
    );
    await Promise.all([leader, ...followers].map((m) => m.start()));
    await waitFor(() => [leader, ...followers].every((m) => m.members().length === 4), 5000, 'full views');
    const before = followers.map((f) => ({ lists: f.stats.lists, reads: f.stats.digestReads }));
    await delay(FAST.heartbeatIntervalMs * 5);
    followers.forEach((f, i) => {
      expect(f.stats.lists - before[i]!.lists).toBe(0);
      expect(f.stats.digestReads - before[i]!.reads).toBeGreaterThanOrEqual(2);
      expect(f.stats.digestWrites).toBe(0);
    });
    expect(leader.stats.lists).toBeGreaterThan(2);
    expect(followers[0]!.members().find((m) => m.nodeId === 'f3')?.metadata).toEqual({ n: 'f3' });
    expect(followers[1]!.members().find((m) => m.nodeId === 'leader')?.metadata).toEqual({ role: 'l' });
  });

  it('drops a crashed member from every view within TTL + heartbeat + 1 s of its last heartbeat', async () => {
    const cluster = uniqueName('m');
    const leader = member({ cluster, nodeId: 'leader', isLeader: () => true });
    const followers = ['f1', 'f2'].map((nodeId) => member({ cluster, nodeId }));
    const victim = await cuttable({ cluster, nodeId: 'victim' });
    const all = [leader, ...followers, victim.membership];
    await Promise.all(all.map((m) => m.start()));
    await waitFor(() => all.every((m) => m.members().length === 4), 5000, 'full views');
    const goneAt = new Map<string, number>();
    for (const observer of [leader, ...followers])
      observer.on('leave', (m) => m.nodeId === 'victim' && goneAt.set(observer.nodeId, Date.now()));
    const falseLeaves: string[] = [];
    for (const observer of [leader, ...followers])
      observer.on(
        'leave',
        (m) => m.nodeId !== 'victim' && falseLeaves.push(`${observer.nodeId} lost ${m.nodeId}`),
      );
    const heartbeats = victim.membership.stats.heartbeats;
    victim.cut();
    const cutAt = Date.now();
    await waitFor(() => goneAt.size === 3, 8000, 'every view to drop the victim');
    // The victim's last heartbeat was answered before the cut (at most one in flight then).
    expect(victim.membership.stats.heartbeats - heartbeats).toBeLessThanOrEqual(1);
    const bound = FAST.memberTtlMs + FAST.heartbeatIntervalMs + 1000;
    // Room for a loaded machine: the cut is after the last heartbeat, the assertion adds 1 s.
    for (const at of goneAt.values()) expect(at - cutAt).toBeLessThan(bound + 1000);
    expect(falseLeaves).toEqual([]);
  });

  it('without a leader, one follower takes the writer role; when it crashes another does, and no live member leaves a view', async () => {
    const cluster = uniqueName('m');
    const first = await cuttable({ cluster, nodeId: 'a-first' });
    await first.membership.start();
    await waitFor(() => first.membership.stats.digestWrites > 0, 3000, 'the first node to write the digest');
    const others = ['b', 'c', 'd'].map((nodeId) => member({ cluster, nodeId }));
    await Promise.all(others.map((m) => m.start()));
    await waitFor(() => others.every((m) => m.members().length === 4), 5000, 'full views');
    const falseLeaves: string[] = [];
    for (const observer of others)
      observer.on(
        'leave',
        (m) => m.nodeId !== 'a-first' && falseLeaves.push(`${observer.nodeId} lost ${m.nodeId}`),
      );
    await delay(FAST.heartbeatIntervalMs * 4);
    // One writer: the others read the digest only.
    expect(others.map((m) => m.stats.digestWrites)).toEqual([0, 0, 0]);
    first.cut();
    await waitFor(
      () => others.every((m) => !m.members().some((x) => x.nodeId === 'a-first')),
      10_000,
      'the writer to leave',
    );
    await delay(FAST.memberTtlMs);
    expect(falseLeaves).toEqual([]);
    expect(others.every((m) => m.members().length === 3)).toBe(true);
    const writers = others.filter((m) => m.stats.digestWrites > 0);
    expect(writers.length).toBeGreaterThanOrEqual(1);
    // The role settles on one node: over the last heartbeats only one wrote.
    const before = others.map((m) => m.stats.digestWrites);
    await delay(FAST.heartbeatIntervalMs * 5);
    expect(others.filter((m, i) => m.stats.digestWrites > before[i]!)).toHaveLength(1);
  });

  it('hands the writer role over at once when the writer leaves gracefully', async () => {
    const cluster = uniqueName('m');
    const writer = member({ cluster, nodeId: 'writer', isLeader: () => true });
    const followers = ['f1', 'f2'].map((nodeId) => member({ cluster, nodeId }));
    await Promise.all([writer, ...followers].map((m) => m.start()));
    await waitFor(() => followers.every((m) => m.members().length === 3), 5000, 'full views');
    const at = Date.now();
    await writer.stop();
    await waitFor(() => followers.every((m) => m.members().length === 2), 3000, 'the writer to leave');
    // Well under the stale-digest takeover (2 heartbeats + 1 s).
    expect(Date.now() - at).toBeLessThan(FAST.heartbeatIntervalMs * 2 + 1000);
  });

  it('point-reads the rows of members whose metadata does not fit the digest', async () => {
    const cluster = uniqueName('m');
    const slow = { heartbeatIntervalMs: 500, memberTtlMs: 6000 };
    // 17 members with 30,000 characters of metadata each: over the digest's 480,000 (deflated,
    // base64), so some entries carry none. Their rows are written here (17 Membership instances would each read the
    // 1 MB digest twice a second on a loaded test machine).
    const table = testStorage().tableClient('memtestbus');
    await testStorage().createTableIfNotExists('memtestbus');
    // Incompressible (random base64), so the deflated digest cannot hold them all.
    const blobs = Array.from({ length: 17 }, () => randomBytes(22_500).toString('base64'));
    const metadataOf = (i: number): Record<string, unknown> => ({ blob: blobs[i] });
    let writing = true;
    const writer = (async () => {
      while (writing) {
        for (let i = 0; i < 17; i++) {
          await table.upsertEntity({
            partitionKey: memberPartition(cluster),
            rowKey: `big-${i}`,
            nodeId: `big-${i}`,
            metadata: JSON.stringify(metadataOf(i)),
            startedAt: '',
            incarnation: 0,
          });
        }
        await delay(1000);
      }
    })();
    try {
      const leader = member({ cluster, nodeId: 'leader', ...slow, isLeader: () => true });
      const follower = member({ cluster, nodeId: 'follower', ...slow });
      await leader.start();
      await waitFor(() => leader.stats.digestWrites > 0, 10_000, 'the first digest');
      await follower.start();
      await waitFor(() => follower.members().length === 19, 15_000, 'full view');
      expect(follower.stats.metadataReads).toBeGreaterThan(0);
      expect(follower.stats.lists).toBe(0);
      for (let i = 0; i < 17; i++) {
        expect(follower.members().find((m) => m.nodeId === `big-${i}`)?.metadata).toEqual(metadataOf(i));
      }
      // Cached by incarnation: not read again every heartbeat.
      const reads = follower.stats.metadataReads;
      await delay(slow.heartbeatIntervalMs * 3);
      expect(follower.stats.metadataReads).toBe(reads);
    } finally {
      writing = false;
      await writer;
    }
  });

  it('reads the partition every heartbeat on every node with useDigest: false', async () => {
    const cluster = uniqueName('m');
    const nodes = ['a', 'b'].map((nodeId) => member({ cluster, nodeId, useDigest: false }));
    await Promise.all(nodes.map((m) => m.start()));
    await waitFor(() => nodes.every((m) => m.members().length === 2 && m.stats.lists > 2), 5000, 'views');
    expect(nodes.map((m) => m.stats.digestReads + m.stats.digestWrites)).toEqual([0, 0]);
  });
});
