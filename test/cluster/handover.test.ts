import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../src/cluster/index.js';
import type { StorageConnection } from '../../src/storage/index.js';
import { testCluster } from '../helpers/cluster.js';
import { uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';
import { faultProxiesForFile } from '../helpers/fault-proxies.js';
import { stoppedAfterEach } from '../helpers/stopped-after-each.js';

const nodes = stoppedAfterEach<Cluster>();
const proxied = faultProxiesForFile();

interface Timeline {
  elected: Array<{ node: string; epoch: number; at: number }>;
  demoted: Array<{ node: string; epoch: number; reason: string; at: number }>;
}

/**
 * Three nodes at the default lease timings (L 15 s, renew 7.5 s); the bus polls only every 15 s,
 * so a release announcement cannot be what makes a follower take over: the renewal grid must.
 */
async function threeNodes(cluster: string, first: { storage?: StorageConnection } = {}): Promise<Timeline> {
  const timeline: Timeline = { elected: [], demoted: [] };
  for (const nodeId of ['a', 'b', 'c']) {
    const node = testCluster({
      cluster,
      nodeId,
      // a campaigns first; b and c a moment later.
      lease: nodeId === 'a' ? {} : { initialDelayMs: 3000 },
      bus: { pollIntervalMs: 15_000 },
      ...(nodeId === 'a' && first.storage ? { storage: first.storage } : {}),
    });
    node.on('elected', ({ epoch }) => timeline.elected.push({ node: nodeId, epoch, at: Date.now() }));
    node.on('demoted', ({ epoch, reason }) =>
      timeline.demoted.push({ node: nodeId, epoch, reason, at: Date.now() }),
    );
    nodes.push(node);
    await node.start();
  }
  await waitFor(() => timeline.elected.some((e) => e.node === 'a'), 10_000, 'a to lead');
  return timeline;
}

describe('handover at the default lease timings', () => {
  it('graceful stop: the next leader is elected right after the release (gap ≤ 5 s with room), stop() takes at most L + slack more', async () => {
    const timeline = await threeNodes(uniqueName('hand'));
    const [a] = nodes;
    // Past the first renew interval, at a random phase of the grid.
    await new Promise((r) => setTimeout(r, 8000 + Math.random() * 7500));
    const stopAt = Date.now();
    await a!.stop();
    const stopMs = Date.now() - stopAt;
    await waitFor(() => timeline.elected.some((e) => e.node !== 'a'), 20_000, 'a new leader');
    const demoted = timeline.demoted.find((d) => d.node === 'a')!;
    const next = timeline.elected.find((e) => e.node !== 'a')!;
    expect(demoted.reason).toBe('stopped');
    expect(next.epoch).toBe(2);
    const gapMs = next.at - demoted.at;
    // bench:failover measures it (a few hundred ms); room here for a loaded machine.
    expect(gapMs).toBeGreaterThanOrEqual(0);
    expect(gapMs).toBeLessThanOrEqual(5000);
    expect(stopMs).toBeLessThanOrEqual(15_300 + 3000);
  }, 60_000);

  it('crash: the leader cut off from storage is replaced about L after its last renewal (≤ L + 1 s + room)', async () => {
    const proxy = await proxied();
    const timeline = await threeNodes(uniqueName('crash'), { storage: proxy.connect() });
    await new Promise((r) => setTimeout(r, 8000 + Math.random() * 7500));
    // Every request of a's is reset from now on: to storage, a is dead.
    proxy.setRule(() => ({ kind: 'reset' }));
    const cutAt = Date.now();
    const lastRenewal = proxy.blob.records
      .filter((r) => r.request.leaseAction === 'renew' || r.request.leaseAction === 'acquire')
      .filter((r) => r.status !== undefined && r.status < 300)
      .at(-1)!.at;
    await waitFor(() => timeline.elected.some((e) => e.node !== 'a'), 30_000, 'a new leader');
    const next = timeline.elected.find((e) => e.node !== 'a')!;
    expect(next.epoch).toBe(2);
    // a stepped down before anyone else led.
    const demoted = timeline.demoted.find((d) => d.node === 'a')!;
    expect(demoted.at).toBeLessThanOrEqual(next.at);
    expect(next.at - lastRenewal).toBeGreaterThanOrEqual(15_000 - 100);
    // L + 1 s is the goal (bench:failover measures it); room for a loaded machine.
    expect(next.at - cutAt).toBeLessThanOrEqual(16_000 + 3000);
  }, 80_000);
});
