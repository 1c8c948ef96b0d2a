import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../src/cluster/index.js';
import { uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';
import { stoppedAfterEach } from '../helpers/stopped-after-each.js';
import { testCluster } from '../helpers/cluster.js';

const nodes = stoppedAfterEach<Cluster>();

interface Run {
  node: string;
  tick: number;
  epoch: number;
  start: number;
  end?: number;
  outcome?: string;
}

function startNodes(cluster: string, names: string[], runs: Run[], everyMs = 400): Cluster[] {
  return names.map((nodeId) => {
    const node = testCluster({ cluster, nodeId });
    nodes.push(node);
    node.singleton('sweep', { everyMs }, async ({ signal, tick, epoch }) => {
      const run: Run = { node: nodeId, tick, epoch, start: performance.now() };
      runs.push(run);
      await new Promise((r) => setTimeout(r, 50));
      run.end = performance.now();
      run.outcome = signal.aborted ? 'aborted' : 'ok';
    });
    return node;
  });
}

function assertHistory(runs: Run[]): void {
  const ticks = runs.map((r) => r.tick);
  expect(new Set(ticks).size, 'no tick ran twice').toBe(ticks.length);
  const sorted = [...runs].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    expect(sorted[i]!.start, 'runs never overlap').toBeGreaterThanOrEqual(sorted[i - 1]!.end ?? Infinity);
    expect(sorted[i]!.epoch, 'epochs never go back').toBeGreaterThanOrEqual(sorted[i - 1]!.epoch);
  }
}

describe('Cluster', () => {
  it('runs a singleton once per tick on the leader only, and every node sees every member', async () => {
    const cluster = uniqueName('k');
    const runs: Run[] = [];
    const all = startNodes(cluster, ['a', 'b', 'c'], runs);
    await Promise.all(all.map((n) => n.start()));
    await waitFor(() => runs.length >= 6, 10_000, 'six runs');
    const leader = all.find((n) => n.isLeader)!;
    expect(new Set(runs.map((r) => r.node))).toEqual(new Set([leader.nodeId]));
    assertHistory(runs);
    await waitFor(() => all.every((n) => n.members().length === 3), 5000, 'full membership');
  });

  it('hands the singleton to another node on graceful stop, with a higher epoch and no tick run twice', async () => {
    const cluster = uniqueName('k');
    const runs: Run[] = [];
    const all = startNodes(cluster, ['a', 'b', 'c'], runs);
    await Promise.all(all.map((n) => n.start()));
    await waitFor(() => runs.length >= 3, 10_000, 'first runs');
    const first = all.find((n) => n.isLeader)!;
    const firstEpoch = first.epoch!;
    let demotedAt = Number.NaN;
    first.on('demoted', () => (demotedAt = performance.now()));
    let electedAt = Number.NaN;
    for (const n of all) if (n !== first) n.on('elected', () => (electedAt ||= performance.now()));
    // stop() keeps the lease until just before the followers' next look at it (up to L + slack).
    await first.stop();
    await waitFor(() => all.some((n) => n !== first && n.isLeader), 3000, 'a new leader');
    // The leadership gap: the old leader's demotion → the new leader's election.
    expect(electedAt - demotedAt).toBeLessThan(1500);
    expect(electedAt).toBeGreaterThanOrEqual(demotedAt);
    const second = all.find((n) => n !== first && n.isLeader)!;
    expect(second.epoch).toBe(firstEpoch + 1);
    await waitFor(() => runs.some((r) => r.node === second.nodeId), 5000, 'a run on the new leader');
    assertHistory(runs);
  }, 60_000);

  it('delivers bus messages between nodes with the leader epoch stamped', async () => {
    const cluster = uniqueName('k');
    const [a, b] = startNodes(cluster, ['a', 'b'], []);
    const got: Array<{ from: string; epoch: number | undefined }> = [];
    b!.subscribe('events', (m) => void got.push({ from: m.from, epoch: m.epoch }));
    a!.subscribe('events', (m) => void got.push({ from: m.from, epoch: m.epoch }));
    await Promise.all([a!.start(), b!.start()]);
    await waitFor(() => a!.isLeader || b!.isLeader, 5000, 'a leader');
    const leader = a!.isLeader ? a! : b!;
    await leader.publish('events', { hello: true });
    await waitFor(() => got.length >= 2, 5000, 'delivery to both');
    expect(got.every((g) => g.from === leader.nodeId && g.epoch === leader.epoch)).toBe(true);
  });
});
