import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import Discover, { type DiscoverOptions } from '../../shims/node-discover/index.js';
import { findFreePort } from '../../src/dev/index.js';
import { GossiplessError } from '../../src/errors/index.js';
import { connectStorage } from '../../src/storage/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { runDiscoverScenario, summarize, type DiscoverLike } from './discover-scenario.js';

const require = createRequire(import.meta.url);
type RealDiscoverCtor = new (options: Record<string, unknown>) => DiscoverLike;
const RealDiscover = require('node-discover') as RealDiscoverCtor;

const created: Array<{ stop(): unknown }> = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((d) => d.stop()));
});

const FAST: DiscoverOptions = { helloInterval: 250, checkInterval: 250, nodeTimeout: 1500 };

function shimOptions(cluster: string, extra: DiscoverOptions = {}): DiscoverOptions {
  return {
    ...FAST,
    ...extra,
    gossipless: {
      cluster,
      storage: testStorage(),
      tablePrefix: 'shimtest',
      lease: { retryIntervalMs: 300 },
      bus: { pollIntervalMs: 100, lookbackMs: 3000 },
      ...extra.gossipless,
    },
  };
}

function shim(cluster: string, extra: DiscoverOptions = {}): Discover {
  const d = new Discover(shimOptions(cluster, extra));
  created.push(d);
  return d;
}

describe('node-discover contract: the real library on loopback and the shim on Azurite', () => {
  it('agree on event order by role, payload shapes, channels and reserved names', async () => {
    const ports = [await findFreePort(), await findFreePort(), await findFreePort()];
    const unicast = ports.map((p) => `127.0.0.1:${p}`);
    const cluster = uniqueName('nd');
    const advertisement = { role: 'api', version: 1 };
    const [real, ours] = await Promise.all([
      runDiscoverScenario(
        (i, weight) =>
          new RealDiscover({
            address: '127.0.0.1',
            port: ports[i],
            unicast,
            // All three live in this process: the real library would otherwise drop their hellos.
            ignoreProcess: false,
            helloInterval: 200,
            checkInterval: 500,
            nodeTimeout: 1500,
            weight,
            advertisement,
          }),
        15_000,
      ),
      runDiscoverScenario(
        (_i, weight) =>
          new Discover(
            shimOptions(cluster, { weight, advertisement, ignoreProcess: false }),
          ) as unknown as DiscoverLike,
        15_000,
      ),
    ]);
    const a = summarize(real);
    const b = summarize(ours);
    expect(b.roles).toEqual(a.roles);
    expect(b.shapes).toEqual(a.shapes);
    expect(b.promotions).toBe(a.promotions);
    expect(a.promotions).toBe(2);
    // Channel delivery: the sender's two peers get (data, obj, rinfo) with the same data.
    for (const result of [real, ours]) {
      expect(result.messages.map(([i]) => i).sort()).toEqual([0, 2]);
      expect(result.messages[0]![1][0]).toEqual({ task: 'reindex', n: 1 });
      expect(result.readvertised).toEqual({ role: 'api', version: 2 });
      expect([result.reservedJoin, result.reservedSend, result.joinTwice]).toEqual([false, false, false]);
    }
    // The real library promoted the heaviest node; the lease lets the heaviest campaign first.
    expect(real.firstMaster).toBe(0);
  }, 60_000);
});

describe('node-discover shim', () => {
  it('is callable with and without new, keeps statics, and reads Discover.weight at construction', () => {
    const cluster = uniqueName('nd');
    const original = Discover.weight;
    Discover.weight = () => 42;
    try {
      const d = Discover(shimOptions(cluster, { start: false }));
      created.push(d);
      expect(d).toBeInstanceOf(Discover);
      expect(d.me.weight).toBe(42);
      expect(new Discover.BasicLeadershipElection()).toBeInstanceOf(Discover.BasicLeadershipElection);
      expect(typeof Discover.NoLeadershipElection).toBe('function');
    } finally {
      Discover.weight = original;
    }
  });

  it('keeps the original option checks', () => {
    expect(() => Discover({ start: false, checkInterval: 3000, nodeTimeout: 2000 })).toThrow(
      'nodeTimeout must be greater than or equal to checkInterval.',
    );
  });

  it('derives the cluster from port and key, refuses the port alone, lets GOSSIPLESS_CLUSTER override it', () => {
    const storage = testStorage();
    const a = Discover({ start: false, port: 4000, key: 'secret-key', gossipless: { storage } });
    expect(a.cluster.name).toMatch(/^nd-4000-[0-9a-f]{10}$/);
    expect(a.cluster.name).not.toContain('secret');
    // Two unrelated services on the default port of one account would have been one cluster.
    expect(() => Discover({ start: false, port: 4000, gossipless: { storage } })).toThrow(
      /GOSSIPLESS_CLUSTER.*options\.gossipless\.cluster/,
    );
    process.env['GOSSIPLESS_CLUSTER'] = 'from-env';
    try {
      expect(Discover({ start: false, gossipless: { storage } }).cluster.name).toBe('from-env');
    } finally {
      delete process.env['GOSSIPLESS_CLUSTER'];
    }
    expect(() => Discover({ start: false, gossipless: { storage, cluster: 'Bad Name' } })).toThrow(
      GossiplessError,
    );
  });

  it('warns once, naming them, about transport-only options; refuses mastersRequired > 1', () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m) };
    const gossipless = { storage: testStorage(), cluster: uniqueName('nd'), logger };
    Discover({ start: false, multicast: '239.0.0.1', unicast: ['10.0.0.1'], reuseAddr: true, gossipless });
    expect(warnings).toEqual([expect.stringContaining('multicast, unicast, reuseAddr')]);
    // One lease elects one master: a warning left code that counted on two masters with one.
    expect(() => Discover({ start: false, mastersRequired: 2, gossipless })).toThrow(/mastersRequired 2/);
    expect(Discover({ start: false, mastersRequired: 1, gossipless }).settings.mastersRequired).toBe(1);
  });

  it('without a logger, the ignored-options warning goes through process.emitWarning, once', async () => {
    const warnings: Error[] = [];
    const listener = (w: Error) => warnings.push(w);
    process.on('warning', listener);
    try {
      const options = {
        start: false,
        broadcast: '10.255.255.255',
        exclusive: true,
        gossipless: { storage: testStorage(), cluster: uniqueName('nd') },
      };
      Discover(options);
      Discover(options);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off('warning', listener);
    }
    const ours = warnings.filter(
      (w) => (w as Error & { code?: string }).code === 'GOSSIPLESS_IGNORED_OPTIONS',
    );
    expect(ours).toHaveLength(1);
    expect(ours[0]!.message).toContain('broadcast, exclusive');
  });

  it('wires a custom leadershipElector to the same hooks as node-discover', async () => {
    const cluster = uniqueName('nd');
    const calls: string[] = [];
    class RecordingElection extends Discover.BasicLeadershipElection {
      override start(discover?: Discover): void {
        calls.push(`start:${discover instanceof Discover}`);
      }
      override onNodeAdded(...args: unknown[]): void {
        calls.push(`added:${typeof (args[0] as { id?: unknown }).id}:${args.length}`);
      }
      override check(): void {
        calls.push('check');
      }
      override stop(): void {
        calls.push('stop');
      }
    }
    const a = shim(cluster, { leadershipElector: RecordingElection });
    const b = shim(cluster);
    await waitFor(() => calls.includes('added:string:3') && calls.includes('check'), 10_000, 'hooks');
    expect(calls[0]).toBe('start:true');
    await a.stop();
    expect(calls[calls.length - 1]).toBe('stop');
    expect(b.leadershipElector).toBeInstanceOf(Discover.BasicLeadershipElection);
    expect(shim(cluster, { leadershipElector: false, start: false }).leadershipElector).toBeUndefined();
  });

  it('never campaigns as a client, and clients are not listed by others', async () => {
    const cluster = uniqueName('nd');
    const server = shim(cluster);
    const client = shim(cluster, { client: true });
    await waitFor(() => server.me.isMaster, 10_000, 'the server to lead');
    await new Promise((r) => setTimeout(r, 800));
    expect(client.me.isMaster).toBe(false);
    expect(client.me.isMasterEligible).toBe(false);
    expect(Object.keys(server.nodes)).toHaveLength(0);
    expect(Object.values(client.nodes).map((n) => n.isMaster)).toEqual([true]);
  });

  it('demote(true) hands mastership over and stays out; promote() makes it campaign again', async () => {
    const cluster = uniqueName('nd');
    const a = shim(cluster, { weight: 2 });
    await waitFor(() => a.me.isMaster, 10_000, 'a to lead');
    const b = shim(cluster, { weight: 1 });
    const seen: string[] = [];
    a.on('demotion', () => seen.push('a:demotion'));
    b.on('promotion', () => seen.push('b:promotion'));
    a.on('master', (node: { id: string }) => seen.push(`a:master:${node.id === b.cluster.nodeId}`));
    await waitFor(
      () => Object.keys(b.nodes).length === 1 && Object.keys(a.nodes).length === 1,
      5000,
      'peers',
    );
    a.demote(true);
    await waitFor(() => b.me.isMaster, 5000, 'b to take over');
    await waitFor(() => seen.includes('a:master:true'), 5000, 'a to see the new master');
    expect(seen.slice(0, 2).sort()).toEqual(['a:demotion', 'b:promotion']);
    expect(a.me.isMasterEligible).toBe(false);
    b.demote(true);
    a.promote();
    await waitFor(() => a.me.isMaster, 5000, 'a to lead again');
    expect(b.me.isMaster).toBe(false);
  });

  it('honours ignoreInstance: false (own messages too) and its default (no own messages)', async () => {
    const cluster = uniqueName('nd');
    // Both live in this process: ignoreProcess false, or each would drop the other's messages.
    const loud = shim(cluster, { ignoreInstance: false, ignoreProcess: false });
    const quiet = shim(cluster, { ignoreProcess: false });
    const got: string[] = [];
    loud.join('news', (data) => got.push(`loud:${String(data)}`));
    quiet.join('news', (data) => got.push(`quiet:${String(data)}`));
    await new Promise((r) => setTimeout(r, 300));
    loud.send('news', 'x');
    quiet.send('news', 'y');
    await waitFor(() => got.length >= 3, 5000, 'deliveries');
    await new Promise((r) => setTimeout(r, 500));
    expect([...got].sort()).toEqual(['loud:x', 'loud:y', 'quiet:x']);
    const sameProcess = shim(cluster);
    const dropped: unknown[] = [];
    sameProcess.join('news', (data) => dropped.push(data));
    await new Promise((r) => setTimeout(r, 300));
    loud.send('news', 'z');
    await waitFor(() => got.includes('quiet:z'), 5000, 'z');
    await new Promise((r) => setTimeout(r, 300));
    // ignoreProcess defaults to true: another instance in this process is not heard.
    expect(dropped).toEqual([]);
    expect(loud.leave('news')).toBe(true);
    expect(loud.channels).toEqual([]);
  });

  it('starts through a storage outage: the callback says started, errors are events, nobody is promoted', async () => {
    const port = await findFreePort();
    const storage = connectStorage({
      blobEndpoint: `http://127.0.0.1:${port}/devstoreaccount1`,
      tableEndpoint: `http://127.0.0.1:${port}/devstoreaccount1`,
      sharedKey: { accountName: 'devstoreaccount1', accountKey: Buffer.from('k').toString('base64') },
    });
    const errors: unknown[] = [];
    let started: [Error | null, boolean] | undefined;
    const d = Discover({ ...FAST, gossipless: { storage, cluster: uniqueName('nd') } }, (error, ok) => {
      started = [error, ok];
    });
    created.push(d);
    d.on('error', (e) => errors.push(e));
    let promoted = false;
    d.on('promotion', () => (promoted = true));
    await waitFor(() => errors.length >= 2, 10_000, 'error events');
    expect(started).toEqual([null, true]);
    expect(promoted).toBe(false);
    expect(d.me.isMaster).toBe(false);
    expect(errors[0]).toBeInstanceOf(GossiplessError);
  });
});
