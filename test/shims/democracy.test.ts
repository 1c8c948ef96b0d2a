import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import Democracy, { type DemocracyOptions } from '../../shims/democracy/index.js';
import { findFreePort } from '../../src/dev/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { IDS, runDemocracyScenario, type DemocracyObservation } from './democracy-scenario.js';

const INTERVAL_MS = 400;
const created: Democracy[] = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((d) => d.stop()));
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function shim(cluster: string, options: DemocracyOptions): Democracy {
  const d = new Democracy({
    interval: INTERVAL_MS,
    ...options,
    gossipless: {
      cluster,
      storage: testStorage(),
      tablePrefix: 'shimtest',
      lease: { retryIntervalMs: 300 },
      bus: { pollIntervalMs: 100, lookbackMs: 3000 },
      ...options.gossipless,
    },
  });
  created.push(d);
  return d;
}

async function realScenario(): Promise<DemocracyObservation> {
  const script = fileURLToPath(new URL('./support/real-democracy-scenario.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: {
      ...process.env,
      PORT_A: String(await findFreePort()),
      PORT_B: String(await findFreePort()),
      INTERVAL_MS: String(INTERVAL_MS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`real democracy scenario exited ${code}: ${err}`);
  return JSON.parse(out.trim()) as DemocracyObservation;
}

describe('democracy contract: the real library on loopback and the shim on Azurite', () => {
  it('agree on who leads, the events each node sees, payload shapes and delivered messages', async () => {
    const cluster = uniqueName('dm');
    const [real, ours] = await Promise.all([
      realScenario(),
      runDemocracyScenario(
        (name, weight) =>
          shim(cluster, { id: IDS[name], weight, source: `127.0.0.1:${name === 'a' ? 5001 : 5002}` }),
        INTERVAL_MS,
      ),
    ]);
    expect(real).toEqual({
      leaderSeenByA: 'a',
      leaderSeenByB: 'a',
      isLeader: { a: true, b: false },
      events: { a: ['added:b', 'elected:a'], b: ['added:a', 'leader:a'] },
      received: [{ n: 1 }],
      custom: [{ x: 1 }],
      shapes: expect.any(Object),
    });
    expect(ours).toEqual(real);
  }, 90_000);
});

describe('democracy shim', () => {
  it('resign() hands leadership over: resigned on the old leader, elected on another node', async () => {
    const cluster = uniqueName('dm');
    const a = shim(cluster, { id: 'a', weight: 2 });
    const b = shim(cluster, { id: 'b', weight: 1 });
    await waitFor(() => a.isLeader() && b.leader()?.id === 'a', 15_000, 'a to lead');
    const seen: string[] = [];
    a.on('resigned', (node: { id: string }) => seen.push(`resigned:${node.id}`));
    b.on('elected', (node: { id: string }) => seen.push(`elected:${node.id}`));
    // The lease goes to whoever acquires first; a stops campaigning here so that it is b.
    a.cluster.elector.setCampaign(false);
    a.resign();
    await waitFor(() => b.isLeader(), 15_000, 'b to lead');
    expect(seen).toEqual(['resigned:a', 'elected:b']);
    await waitFor(() => a.leader()?.id === 'b', 15_000, 'a to see b lead');
  });

  it('a node that was up when another was elected gets `leader`, even when its view shows the leader first', async () => {
    const cluster = uniqueName('dm');
    // b's rows arrive every 400 ms, but its lease looks and bus polls are slow: its membership view
    // shows a's leader row seconds before anything else tells it of the election.
    const b = shim(cluster, {
      id: 'b',
      weight: 1,
      gossipless: {
        lease: { retryIntervalMs: 6000 },
        bus: { pollIntervalMs: 3000, idlePollIntervalMs: 3000 },
      },
    });
    // b is up first and only watches (the shim would start its campaign after two intervals): the
    // lease must go to a, and b must learn of it late from the lease.
    b.cluster.elector.setCampaign = () => undefined;
    const seen: string[] = [];
    b.on('added', (node: { id: string }) => seen.push(`added:${node.id}`));
    b.on('leader', (node: { id: string }) => seen.push(`leader:${node.id}`));
    await sleep(500);
    const a = shim(cluster, { id: 'a', weight: 2 });
    await waitFor(() => a.isLeader() && b.leader()?.id === 'a', 15_000, 'b to know a leads');
    await waitFor(() => seen.includes('leader:a'), 15_000, 'the leader event on b');
    expect(seen).toEqual(['added:a', 'leader:a']);
  });

  it('removed fires when a node leaves; a stopped leader is replaced', async () => {
    const cluster = uniqueName('dm');
    const a = shim(cluster, { id: 'a', weight: 2 });
    const b = shim(cluster, { id: 'b', weight: 1 });
    await waitFor(() => a.isLeader() && Object.keys(b.nodes()).length === 2, 15_000, 'a to lead');
    const removed: string[] = [];
    b.on('removed', (node: { id: string }) => removed.push(node.id));
    await a.stop();
    await waitFor(() => removed.includes('a') && b.isLeader(), 20_000, 'b to lead');
  });

  it('a node hears only what was sent after it started, and on a channel only after it subscribed', async () => {
    const cluster = uniqueName('dm');
    // A long look-back, so every earlier message is still in reach: only the filter can drop them.
    const bus = { pollIntervalMs: 100, lookbackMs: 10_000 };
    const a = shim(cluster, { id: 'a', weight: 2, gossipless: { bus } });
    a.send('news', 'before-b');
    // Past both nodes' clock uncertainty (about a second each after one response, more under load).
    await sleep(4000);
    const b = shim(cluster, { id: 'b', weight: 1, gossipless: { bus } });
    const got: string[] = [];
    b.on('news', (x: string) => got.push(`news:${x}`));
    b.on('chat', (x: string) => got.push(`chat:${x}`));
    a.send('news', 'after-b');
    a.publish('chat', 'before-subscribe');
    await sleep(2500);
    b.subscribe('chat');
    a.publish('chat', 'after-subscribe');
    await waitFor(() => got.includes('chat:after-subscribe'), 10_000, "b to hear a's publish");
    await sleep(500);
    expect(got).toEqual(['news:after-b', 'chat:after-subscribe']);
  });

  it('refuses to start without a cluster name (peers alone name none), naming GOSSIPLESS_CLUSTER', () => {
    expect(() => new Democracy({ source: '0.0.0.0:5000', gossipless: { storage: testStorage() } })).toThrow(
      /GOSSIPLESS_CLUSTER/,
    );
  });
});
