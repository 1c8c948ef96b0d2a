import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import Discover, { type DiscoverOptions } from '../../shims/node-discover/index.js';
import { createCluster } from '../../src/cluster/index.js';
import { busTableName } from '../../src/table-layout/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { testStorage, uniqueName } from '../helpers/storage.js';

// Gaps between node-discover 1.2.1 (lib/discover.js, lib/network.js) and the shim, one test each.

const created: Array<{ stop(): unknown }> = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((d) => d.stop()));
});

function shim(cluster: string, extra: DiscoverOptions = {}): Discover {
  const d = new Discover({
    helloInterval: 250,
    checkInterval: 250,
    nodeTimeout: 1500,
    ...extra,
    gossipless: {
      cluster,
      storage: testStorage(),
      tablePrefix: 'shimtest',
      lease: { retryIntervalMs: 300 },
      bus: { pollIntervalMs: 100, lookbackMs: 3000 },
      ...extra.gossipless,
    },
  });
  created.push(d);
  return d;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('node-discover shim: stop and restart', () => {
  it('stop() emits stopped at once and keeps the process alive until the lease release has landed', async () => {
    const cluster = uniqueName('nd');
    const script = fileURLToPath(new URL('./support/discover-stop-then-drain.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: {
        ...process.env,
        AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
        GOSSIPLESS_CLUSTER: cluster,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(out.trim())).toEqual({ type: 'stopped', sync: true });
    // The process ended by itself: had it ended before the release, the lease would still be held.
    const observer = createCluster({
      cluster,
      storage: testStorage(),
      tablePrefix: 'shimtest',
      campaign: false,
    });
    try {
      expect((await observer.leader()).isHeld).toBe(false);
    } finally {
      await observer.stop();
    }
  }, 60_000);

  it('starts again after stop(), as node-discover does, and peers see it again', async () => {
    const cluster = uniqueName('nd');
    const a = shim(cluster, { weight: 2 });
    const b = shim(cluster, { weight: 1 });
    await waitFor(() => Object.keys(a.nodes).length === 1, 10_000, 'a sees b');
    const removed: string[] = [];
    a.on('removed', (node: { id: string }) => removed.push(node.id));
    const firstId = b.cluster.nodeId;
    void b.stop();
    await waitFor(() => removed.includes(firstId), 10_000, 'a sees b leave');
    const restarted = await new Promise<[Error | null, boolean]>((resolve) =>
      b.start((error, ok) => resolve([error, ok])),
    );
    expect(restarted).toEqual([null, true]);
    await waitFor(() => Object.keys(a.nodes).length === 1, 10_000, 'a sees b again');
    expect(b.cluster.nodeId).not.toBe(firstId);
  });

  it('promote() sets me.isMaster only once the lease is held (documented difference)', async () => {
    const d = shim(uniqueName('nd'), { leadershipElector: Discover.NoLeadershipElection });
    await new Promise((r) => d.once('started', r));
    d.promote();
    // node-discover: true at once. The shim: true once `promotion` says the lease is held.
    expect(d.me.isMaster).toBe(false);
    await new Promise((r) => d.once('promotion', r));
    expect(d.me.isMaster).toBe(true);
  });
});

describe('node-discover shim: key', () => {
  it('seals payloads and adverts: the table holds neither, nor the channel name; peers with the key read both', async () => {
    const cluster = uniqueName('nd');
    const key = 'correct horse battery staple';
    const options = { key, ignoreProcess: false, advertisement: { secretAdvert: 'advert-plaintext' } };
    const a = shim(cluster, options);
    const b = shim(cluster, options);
    const got: unknown[] = [];
    b.join('secret-channel', (data) => got.push(data));
    await waitFor(() => Object.keys(b.nodes).length === 1, 10_000, 'b sees a');
    expect(Object.values(b.nodes)[0]!.advertisement).toEqual({ secretAdvert: 'advert-plaintext' });
    await sleep(300);
    a.send('secret-channel', { card: 'payload-plaintext' });
    await waitFor(() => got.length === 1, 10_000, 'delivery');
    expect(got).toEqual([{ card: 'payload-plaintext' }]);
    const table = testStorage().tableClient(busTableName('shimtest'));
    let rows = '';
    for await (const row of table.listEntities()) rows += JSON.stringify(row);
    expect(rows).toContain(cluster);
    for (const plain of ['advert-plaintext', 'payload-plaintext', 'secret-channel', 'secretAdvert']) {
      expect(rows).not.toContain(plain);
    }
  });

  it('a node with another key in the same cluster neither lists the others nor hears them', async () => {
    const cluster = uniqueName('nd');
    const a = shim(cluster, { key: 'one', ignoreProcess: false });
    const b = shim(cluster, { key: 'two', ignoreProcess: false });
    const c = shim(cluster, { key: 'one', ignoreProcess: false });
    const heardByB: unknown[] = [];
    const heardByC: unknown[] = [];
    b.join('x', (data) => heardByB.push(data));
    c.join('x', (data) => heardByC.push(data));
    await waitFor(() => Object.keys(c.nodes).length === 1, 10_000, 'c sees a');
    await sleep(300);
    a.send('x', 'hello');
    await waitFor(() => heardByC.length === 1, 10_000, 'c hears a');
    await sleep(800);
    expect(heardByB).toEqual([]);
    expect(Object.keys(b.nodes)).toEqual([]);
  });
});

describe('node-discover shim: channels deliver only what was sent while listening', () => {
  it('a node that joins does not receive messages sent before it started, nor its previous incarnation’s', async () => {
    const cluster = uniqueName('nd');
    // A long look-back, so every earlier message is still in reach: only the filter can drop them.
    const bus = { pollIntervalMs: 100, lookbackMs: 10_000 };
    const a = shim(cluster, { ignoreProcess: false, gossipless: { bus } });
    await new Promise((r) => a.once('started', r));
    a.send('news', 'before-b');
    // Past both nodes' clock uncertainty (about a second each after one response, more under load).
    await sleep(4000);
    const b = shim(cluster, { ignoreProcess: false, ignoreInstance: false, gossipless: { bus } });
    const got: unknown[] = [];
    b.join('news', (data) => got.push(data));
    await new Promise((r) => b.once('started', r));
    b.send('news', 'from-b-first-life');
    await waitFor(() => got.includes('from-b-first-life'), 10_000, 'b hears itself');
    await b.stop();
    await new Promise<void>((resolve) => b.start(() => resolve()));
    a.send('news', 'after-restart');
    await waitFor(() => got.includes('after-restart'), 10_000, 'b hears a');
    await sleep(500);
    expect(got).toEqual(['from-b-first-life', 'after-restart']);
  });
});

describe('node-discover shim: channel latency while idle', () => {
  it('polls its channels at most 1 s apart when idle (the core backs off to 15 s), unless told otherwise', () => {
    const make = (bus?: { pollIntervalMs?: number; idlePollIntervalMs?: number }) =>
      shim(uniqueName('nd'), { start: false, gossipless: { bus } }).cluster.bus.timings;
    expect(make(undefined)).toMatchObject({ pollIntervalMs: 500, idlePollIntervalMs: 1000 });
    expect(make({ pollIntervalMs: 100 })).toMatchObject({ pollIntervalMs: 100, idlePollIntervalMs: 1000 });
    expect(make({ pollIntervalMs: 2000 })).toMatchObject({ idlePollIntervalMs: 2000 });
    expect(make({ idlePollIntervalMs: 15_000 })).toMatchObject({ idlePollIntervalMs: 15_000 });
  });
});

describe('node-discover shim: elections the lease cannot share', () => {
  it('a custom leadershipElector decides when to campaign: none until it calls promote()', async () => {
    const cluster = uniqueName('nd');
    let discover: Discover | undefined;
    class ManualElection extends Discover.BasicLeadershipElection {
      override start(d?: Discover): void {
        discover = d;
      }
    }
    const a = shim(cluster, { leadershipElector: ManualElection });
    const b = shim(cluster, { leadershipElector: ManualElection });
    await waitFor(
      () => Object.keys(a.nodes).length === 1 && Object.keys(b.nodes).length === 1,
      10_000,
      'peers',
    );
    await sleep(1500);
    // Before: the shim campaigned by weight regardless of the elector.
    expect([a.me.isMaster, b.me.isMaster]).toEqual([false, false]);
    (discover === a ? a : b).promote();
    await waitFor(() => a.me.isMaster || b.me.isMaster, 10_000, 'the promoted node to lead');
  });
});
