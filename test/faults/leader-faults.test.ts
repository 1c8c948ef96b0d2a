import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { azuriteConnectionString, startAzurite } from '../../src/dev/index.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';
import { NodeProcess } from '../helpers/node-process.js';
import {
  NODE_RUNNER,
  assertSafetyInvariant,
  formatHistory,
  waitForEvent,
  type HistoryEvent,
} from './harness.js';

// Lease L = 15 s (the shortest Azure and Azurite allow), margin 2 s, follower retry 0.3 s.
const L = 15_000;

const processes: NodeProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  for (const cleanup of cleanups) await cleanup();
});

function startCluster(
  connectionString: string,
  names = ['a', 'b', 'c'],
  extraEnv: Record<string, Record<string, string>> = {},
) {
  const history: HistoryEvent[] = [];
  const cluster = uniqueName('f');
  const nodes: NodeProcess[] = [];
  const startNode = (name: string, env: Record<string, string> = {}): NodeProcess => {
    const node = new NodeProcess(name, NODE_RUNNER, history, {
      CLUSTER: cluster,
      CONNECTION_STRING: connectionString,
      EVERY_MS: '500',
      ...extraEnv[name],
      ...env,
    });
    processes.push(node);
    nodes.push(node);
    return node;
  };
  names.forEach((name) => startNode(name));
  return { history, nodes, startNode, byName: (name: string) => nodes.find((n) => n.nodeId === name)! };
}

async function firstLeader(history: HistoryEvent[]): Promise<HistoryEvent> {
  return waitForEvent(history, (e) => e.type === 'elected', 60_000, 'a first leader');
}

describe.concurrent('leader election under faults (3 node processes each)', () => {
  it('kill -9 of the leader: a new leader within L + retry, higher epoch, invariant holds', async () => {
    const { history, byName } = startCluster(inject('azuriteConnectionString'));
    const elected = await firstLeader(history);
    // Bounds leave room for a loaded machine (node processes start and run slowly there); the
    // failover figures themselves are bench:failover's.
    await waitForEvent(history, (e) => e.type === 'job-start' && e.node === elected.node, 30_000, 'a sweep');
    byName(elected.node).signal('SIGKILL', 'killed');
    const killedAt = Date.now();
    const next = await waitForEvent(
      history,
      (e) => e.type === 'elected' && e.node !== elected.node,
      2 * L + 10_000,
      'failover',
    );
    // Liveness with room for a loaded machine: within 2 L (safety is the invariant below).
    expect(next.t - killedAt, formatHistory(history)).toBeLessThanOrEqual(2 * L);
    expect(next.epoch).toBe(elected.epoch! + 1);
    await waitForEvent(
      history,
      (e) => e.type === 'job-start' && e.node === next.node,
      20_000,
      'sweeps resume',
    );
    assertSafetyInvariant(history);
  });

  it('SIGTERM of the leader: it stops its jobs, hands the lease over on the grid, and another node leads right after its demotion', async () => {
    const { history, byName } = startCluster(inject('azuriteConnectionString'));
    const elected = await firstLeader(history);
    await waitForEvent(
      history,
      (e) => e.type === 'ready' && e.node !== elected.node,
      40_000,
      'followers ready',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const leader = byName(elected.node);
    leader.signal('SIGTERM', 'terminated');
    const sentAt = Date.now();
    // stop() keeps the lease until just before the followers' next look: up to L + slack.
    const stopped = await waitForEvent(
      history,
      (e) => e.type === 'stopped' && e.node === elected.node,
      L + 15_000,
      'graceful stop',
    );
    const next = await waitForEvent(
      history,
      (e) => e.type === 'elected' && e.node !== elected.node,
      15_000,
      'handoff',
    );
    const demoted = history.find((e) => e.type === 'demoted' && e.node === elected.node && e.t >= sentAt);
    expect(demoted?.reason).toBe('stopped');
    // The leadership gap: the released lease is taken at the followers' look right after the
    // release, not after it expires (L); bench:failover measures it (a few hundred ms). With 18
    // node processes of this file on 2 cores each storage call can take a second: room to L/2.
    expect(next.t - demoted!.t, formatHistory(history)).toBeLessThan(L / 2);
    expect(next.t - demoted!.t).toBeGreaterThanOrEqual(0);
    expect(stopped.t - sentAt).toBeLessThan(L + 300 + 5000);
    expect(next.epoch).toBe(elected.epoch! + 1);
    await leader.exited;
    expect(leader.child.signalCode).toBe('SIGTERM');
    assertSafetyInvariant(history);
  }, 120_000);

  it('SIGSTOP of the leader past L, then SIGCONT: it finds itself demoted and runs nothing stale', async () => {
    const { history, byName } = startCluster(inject('azuriteConnectionString'));
    const elected = await firstLeader(history);
    await waitForEvent(history, (e) => e.type === 'job-start' && e.node === elected.node, 30_000, 'a sweep');
    const paused = byName(elected.node);
    paused.signal('SIGSTOP', 'paused');
    const next = await waitForEvent(
      history,
      (e) => e.type === 'elected' && e.node !== elected.node,
      L + 10_000,
      'failover',
    );
    await waitForEvent(
      history,
      (e) => e.type === 'job-start' && e.node === next.node,
      15_000,
      'sweeps on the new leader',
    );
    paused.signal('SIGCONT', 'resumed');
    const resumedAt = Date.now();
    const demoted = await waitForEvent(
      history,
      (e) => e.type === 'demoted' && e.node === elected.node,
      15_000,
      'the paused node to notice',
    );
    expect(demoted.reason).toBe('renew-timeout');
    // It notices from its monotonic clock on resuming, not from storage: well within a lease.
    expect(demoted.t - resumedAt).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 1500));
    const staleRuns = history.filter(
      (e) => e.type === 'job-start' && e.node === elected.node && e.t >= resumedAt,
    );
    expect(staleRuns, formatHistory(history)).toEqual([]);
    assertSafetyInvariant(history);
  });

  it('storage outage: the leader steps down before L; after storage returns a leader is re-elected with a higher epoch', async () => {
    const location = await mkdtemp(path.join(tmpdir(), 'gossipless-faults-'));
    let azurite = await startAzurite({ location });
    const { blobPort, tablePort } = azurite;
    cleanups.push(async () => {
      await azurite.stop();
      await rm(location, { recursive: true, force: true });
    });
    const { history } = startCluster(azurite.connectionString);
    const elected = await firstLeader(history);
    await waitForEvent(history, (e) => e.type === 'job-start', 30_000, 'a sweep');
    const downAt = Date.now();
    await azurite.stop();
    const demoted = await waitForEvent(
      history,
      (e) => e.type === 'demoted' && e.node === elected.node,
      L,
      'step-down',
    );
    // Stepped down before the lease could expire at the server (last renew + L).
    // Safety bound: before the lease could expire at the server (last renew + L; downAt is later).
    expect(demoted.t - downAt, formatHistory(history)).toBeLessThan(L);
    await new Promise((r) => setTimeout(r, 2000));
    azurite = await startAzurite({ location, blobPort, tablePort });
    const again = await waitForEvent(
      history,
      (e) => e.type === 'elected' && e.t > demoted.t,
      L + 15_000,
      're-election',
    );
    expect(again.epoch).toBeGreaterThan(elected.epoch!);
    assertSafetyInvariant(history);
  });

  it('a proxy that drops one node from storage: that leader steps down, another takes over after L; latency alone keeps it', async () => {
    const blobUrl = new URL(inject('azuriteBlobEndpoint'));
    const tableUrl = new URL(inject('azuriteTableEndpoint'));
    const blobProxy = new FaultProxy(blobUrl.hostname, Number(blobUrl.port));
    const tableProxy = new FaultProxy(tableUrl.hostname, Number(tableUrl.port));
    await Promise.all([blobProxy.listen(), tableProxy.listen()]);
    cleanups.push(async () => {
      await blobProxy.close();
      await tableProxy.close();
    });
    const proxied = azuriteConnectionString(
      `http://127.0.0.1:${blobProxy.port}/devstoreaccount1`,
      `http://127.0.0.1:${tableProxy.port}/devstoreaccount1`,
    );
    // Node a talks to storage through the proxy and starts first, so it leads; b and c go direct.
    const run = startCluster(proxied, ['a']);
    const first = await firstLeader(run.history);
    expect(first.node).toBe('a');
    run.startNode('b', { CONNECTION_STRING: inject('azuriteConnectionString') });
    run.startNode('c', { CONNECTION_STRING: inject('azuriteConnectionString') });
    // Starting two node processes can starve a's event loop on a loaded machine (a real reason to
    // step down, but not the one under test): the latency phase begins once both are up.
    for (const node of ['b', 'c']) {
      await waitForEvent(run.history, (e) => e.type === 'ready' && e.node === node, 60_000, `${node} ready`);
    }
    const stillLeading = run.history.filter((e) => e.type === 'elected' && e.node === 'a').at(-1)!;
    // Latency below the call deadline: renewals still succeed, leadership holds.
    const latencyAt = Date.now();
    blobProxy.setMode({ kind: 'latency', ms: 400 });
    tableProxy.setMode({ kind: 'latency', ms: 400 });
    await new Promise((r) => setTimeout(r, 6000));
    expect(run.history.filter((e) => e.type === 'demoted' && e.t >= latencyAt)).toEqual([]);
    blobProxy.setMode({ kind: 'blackhole' });
    tableProxy.setMode({ kind: 'blackhole' });
    const cutAt = Date.now();
    const demoted = await waitForEvent(
      run.history,
      (e) => e.type === 'demoted' && e.node === 'a',
      L,
      'step-down',
    );
    expect(demoted.t - cutAt).toBeLessThan(L);
    const next = await waitForEvent(
      run.history,
      (e) => e.type === 'elected' && e.node !== 'a',
      L + 5000,
      'takeover',
    );
    expect(next.epoch).toBeGreaterThan(stillLeading.epoch!);
    await waitForEvent(
      run.history,
      (e) => e.type === 'job-start' && e.node === next.node,
      15_000,
      'sweeps resume',
    );
    assertSafetyInvariant(run.history);
  });

  it('one node with its clock 90 s ahead: one leader, one run per tick', async () => {
    const { history } = startCluster(inject('azuriteConnectionString'), ['a', 'b', 'c'], {
      b: { CLOCK_OFFSET_MS: '90000' },
      c: { CLOCK_OFFSET_MS: '-90000' },
    });
    await firstLeader(history);
    await waitFor(() => history.filter((e) => e.type === 'job-start').length >= 5, 30_000, 'five sweeps');
    const leaders = new Set(history.filter((e) => e.type === 'elected').map((e) => e.node));
    expect(leaders.size).toBe(1);
    expect(history.filter((e) => e.type === 'job-start').length).toBeGreaterThanOrEqual(5);
    assertSafetyInvariant(history);
  });
});
