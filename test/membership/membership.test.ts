import { afterEach, describe, expect, inject, it } from 'vitest';
import { setTimeout as delay } from 'node:timers/promises';
import { Membership, type MembershipOptions } from '../../src/membership/index.js';
import { ServerTimeEstimate, skewedClock, systemClock } from '../../src/clock/index.js';
import { azuriteConnectionString } from '../../src/dev/index.js';
import { connectStorage } from '../../src/storage/index.js';
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
        partitionKey: `m:${cluster}`,
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
            partitionKey: `m:${cluster}`,
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
      partitionKey: `m:${cluster}`,
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
