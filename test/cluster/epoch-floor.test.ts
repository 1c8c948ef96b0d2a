import { afterEach, describe, expect, inject, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import type { Cluster, ClusterEvents } from '../../src/cluster/index.js';
import { claimPartition } from '../../src/table-layout/index.js';
import type { Clock } from '../../src/clock/index.js';
import { readClusterStatus } from '../../src/status/index.js';
import { connectStorage } from '../../src/storage/index.js';
import { uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';
import { testCluster } from '../helpers/cluster.js';

const nodes: Cluster[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

interface Run {
  tick: number;
  epoch: number;
}

/** One node with a fast singleton, led up to epoch 3 by two resignations. */
async function leaderAtEpoch3(clusterName: string) {
  const node = testCluster({
    cluster: clusterName,
    nodeId: 'a',
    lease: { retryIntervalMs: 200, renewIntervalMs: 1000 },
  });
  nodes.push(node);
  const runs: Run[] = [];
  const events: Array<{ type: string; payload: unknown }> = [];
  for (const type of ['fenced', 'epoch-floor', 'demoted', 'elected'] as const) {
    node.on(type, (payload: ClusterEvents[typeof type]) => events.push({ type, payload }));
  }
  node.singleton('sweep', { everyMs: 200 }, ({ tick, epoch }) => {
    runs.push({ tick, epoch });
  });
  await node.start();
  for (let epoch = 1; epoch <= 3; epoch++) {
    await waitFor(() => runs.some((r) => r.epoch === epoch), 15_000, `a run at epoch ${epoch}`);
    if (epoch < 3) await node.elector.resign();
  }
  const blob = node.storage.containerClient('gossipless').getBlockBlobClient(`${clusterName}/leader`);
  return { node, runs, events, blob };
}

describe('epoch floor: the epoch never goes below epochs already used', () => {
  it('lease blob deleted and recreated: the next term takes an epoch above the claims, jobs continue, the event fires', async () => {
    const { runs, events, blob } = await leaderAtEpoch3(uniqueName('del'));
    await blob.getBlobLeaseClient().breakLease(0);
    await blob.delete();
    // With the epoch restarting at 1, every claim (epoch 3) fenced the new leader and nothing ran.
    await waitFor(() => runs.some((r) => r.epoch > 3), 20_000, 'a run above epoch 3');
    expect(events.find((e) => e.type === 'epoch-floor')?.payload).toMatchObject({
      stored: 0,
      floor: 3,
      epoch: 4,
    });
    const ticks = runs.map((r) => r.tick);
    expect(new Set(ticks).size).toBe(ticks.length);
  }, 60_000);

  it('lease metadata edited down: the next term still goes above the claims', async () => {
    const { runs, events, blob } = await leaderAtEpoch3(uniqueName('meta'));
    await blob.getBlobLeaseClient().breakLease(0);
    await blob.setMetadata({ epoch: '1', holder: 'someone' });
    await waitFor(() => runs.some((r) => r.epoch > 3), 20_000, 'a run above epoch 3');
    expect(events.find((e) => e.type === 'epoch-floor')?.payload).toMatchObject({
      stored: 1,
      floor: 3,
      epoch: 4,
    });
  }, 60_000);

  it('a claim already above the leader’s epoch: fenced is loud (event, status line) and the leader moves above it', async () => {
    const clusterName = uniqueName('fen');
    const { node, runs, events } = await leaderAtEpoch3(clusterName);
    // Claims from a higher epoch than the lease says (e.g. after an account failover restored an older blob).
    const table = node.storage.tableClient(node.bus.tableName);
    await table.upsertEntity(
      { partitionKey: claimPartition(clusterName), rowKey: 'sweep', tick: 0, epoch: 50, nodeId: 'elsewhere' },
      'Replace',
    );
    const status = await readClusterStatus(
      connectStorage({ connectionString: inject('azuriteConnectionString') }),
      {
        cluster: clusterName,
        tablePrefix: 'clustertest',
      },
    );
    expect(status.highestClaimedEpoch).toBe(50);
    expect(status.warnings.some((w) => w.includes('singleton jobs fenced'))).toBe(true);
    await waitFor(() => events.some((e) => e.type === 'fenced'), 10_000, 'the fenced event');
    expect(events.find((e) => e.type === 'fenced')?.payload).toMatchObject({
      name: 'sweep',
      epoch: 3,
      claimEpoch: 50,
    });
    expect(
      events.find((e) => e.type === 'demoted' && (e.payload as { reason: string }).reason === 'fenced'),
    ).toBeDefined();
    await waitFor(() => runs.some((r) => r.epoch === 51), 20_000, 'a run at epoch 51');
    const after = await readClusterStatus(
      connectStorage({ connectionString: inject('azuriteConnectionString') }),
      {
        cluster: clusterName,
        tablePrefix: 'clustertest',
      },
    );
    expect(after.warnings.some((w) => w.includes('fenced'))).toBe(false);
  }, 60_000);
});

describe('SingletonContext.isLeader reads the step-down deadline itself', () => {
  it('a job that blocks past the deadline sees isLeader() false while its signal is not yet aborted', async () => {
    let skipMs = 0;
    const clock: Clock = { monotonicNow: () => performance.now() + skipMs, wallNow: () => Date.now() };
    const node = testCluster({ cluster: uniqueName('dl'), nodeId: 'a', clock });
    nodes.push(node);
    const seen: Array<{ before: boolean; after: boolean; aborted: boolean; threw: string | undefined }> = [];
    node.singleton('sweep', { everyMs: 200 }, (ctx) => {
      if (seen.length > 0) return;
      const before = ctx.isLeader();
      // The event loop is blocked past the step-down deadline (L − margin = 13 s): the clock jumps.
      skipMs += 14_000;
      let threw: string | undefined;
      try {
        ctx.throwIfNotLeader();
      } catch (error) {
        threw = (error as { code?: string }).code;
      }
      seen.push({ before, after: ctx.isLeader(), aborted: ctx.signal.aborted, threw });
    });
    await node.start();
    await waitFor(() => seen.length > 0, 15_000, 'the job');
    expect(seen[0]).toEqual({ before: true, after: false, aborted: false, threw: 'STOPPED' });
    expect(node.isLeader).toBe(false);
  }, 30_000);
});
