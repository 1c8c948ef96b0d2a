import { afterEach, describe, expect, it } from 'vitest';
import { CrdtRateLimiter, type CrdtRateLimiterOptions } from '../../shims/crdt-rate-limiter/index.js';
import { GossiplessError } from '../../src/errors/index.js';
import { createCluster } from '../../src/cluster/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { testStorage, uniqueName } from '../helpers/storage.js';

const created: CrdtRateLimiter[] = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((l) => l.stop()));
});

function limiter(
  cluster: string,
  nodeId: string,
  options: Partial<CrdtRateLimiterOptions> = {},
): CrdtRateLimiter {
  const l = new CrdtRateLimiter({
    limit: 30,
    windowMs: 60_000,
    nodeId,
    ...options,
    gossipless: {
      cluster,
      storage: testStorage(),
      tablePrefix: 'shimtest',
      // A TTL of 12 heartbeats: on a loaded machine a 1.5 s TTL let a late heartbeat drop a live member.
      membership: { heartbeatIntervalMs: 250, memberTtlMs: 3000 },
    },
  });
  created.push(l);
  return l;
}

function drain(l: CrdtRateLimiter, key: string): number {
  let allowed = 0;
  while (l.tryConsume(key)) allowed++;
  return allowed;
}

describe('CrdtRateLimiter options', () => {
  it.each([
    [{ limit: -1 }, 'limit must be a number ≥ 0'],
    [{ windowMs: 0 }, 'windowMs must be a positive integer'],
    [{ mode: 'gossip' as never }, "mode must be 'split' or 'table'"],
    [{ syncIntervalMs: 5 }, 'syncIntervalMs must be an integer ≥ 50'],
  ])('rejects %o with a message naming the input', (bad, message) => {
    const create = () =>
      new CrdtRateLimiter({
        limit: 10,
        windowMs: 1000,
        start: false,
        ...bad,
        gossipless: { cluster: uniqueName('rl'), storage: testStorage() },
      });
    expect(create).toThrow(GossiplessError);
    expect(create).toThrow(message);
  });
});

describe('CrdtRateLimiter split mode', () => {
  it('allows limit / liveMembers per node once the members are seen, with no I/O per decision', async () => {
    const cluster = uniqueName('rl');
    const nodes = ['a', 'b', 'c'].map((id) => limiter(cluster, id));
    await waitFor(() => nodes.every((l) => l.liveMembers() === 3), 10_000, 'three live members');
    const first = nodes[0]!.consume('user-1');
    expect(first).toMatchObject({ allowed: true, remaining: 9, effectiveLimit: 10, knownTotal: 1 });
    expect(first.resetMs).toBeGreaterThan(0);
    expect(first.resetMs).toBeLessThanOrEqual(60_000);
    expect(1 + drain(nodes[0]!, 'user-1')).toBe(10);
    expect(drain(nodes[1]!, 'user-1')).toBe(10);
    expect(drain(nodes[2]!, 'user-1')).toBe(10);
    // Another key has its own budget; a cost larger than what is left is refused whole.
    expect(nodes[0]!.tryConsume('user-2', 8)).toBe(true);
    expect(nodes[0]!.tryConsume('user-2', 3)).toBe(false);
    expect(nodes[0]!.tryConsume('user-2', 2)).toBe(true);
    // keyPrefix isolates limiters sharing a cluster.
    const prefixed = limiter(cluster, 'd', { keyPrefix: 'api:' });
    expect(prefixed.state().keys).toEqual({});
    prefixed.tryConsume('user-1');
    expect(Object.keys(prefixed.state().keys)).toEqual(['api:user-1']);
  });

  it('counts only limiter nodes when other nodes share its cluster (GOSSIPLESS_CLUSTER set for every shim)', async () => {
    const cluster = uniqueName('rl');
    const other = createCluster({
      cluster,
      nodeId: 'discover-node',
      storage: testStorage(),
      tablePrefix: 'shimtest',
      campaign: false,
      membership: { heartbeatIntervalMs: 250, memberTtlMs: 3000 },
    });
    await other.start();
    try {
      const [a, b] = [limiter(cluster, 'a'), limiter(cluster, 'b')];
      await waitFor(() => other.members().length === 3, 10_000, 'all three rows');
      // Each limiter's view is its own: wait for both (a seeing all three said nothing about b).
      await waitFor(
        () => a.cluster.members().length === 3 && b.cluster.members().length === 3,
        20_000,
        'both limiters to see them',
      );
      expect([a.liveMembers(), b.liveMembers()]).toEqual([2, 2]);
      expect(drain(a, 'k')).toBe(15);
    } finally {
      await other.stop();
    }
  });

  it('re-splits when a member leaves', async () => {
    const cluster = uniqueName('rl');
    const [a, b] = [limiter(cluster, 'a'), limiter(cluster, 'b')];
    await waitFor(() => a.liveMembers() === 2, 10_000, 'two members');
    expect(drain(a, 'k')).toBe(15);
    await b.stop();
    await waitFor(() => a.liveMembers() === 1, 10_000, 'one member');
    expect(drain(a, 'k')).toBe(15);
  });
});

describe('CrdtRateLimiter state and merge (G-counter)', () => {
  function offline(nodeId: string, limit = 10): CrdtRateLimiter {
    const l = new CrdtRateLimiter({
      limit,
      windowMs: 60_000,
      nodeId,
      // The merge tests are about the G-counter, not the startup share.
      initialMembers: 1,
      start: false,
      gossipless: { cluster: uniqueName('rl'), storage: testStorage() },
    });
    return l;
  }

  it('merge is idempotent and commutative, keeps the max per node, and makes decisions stricter', () => {
    const a = offline('a');
    const b = offline('b');
    a.tryConsume('k', 3);
    b.tryConsume('k', 4);
    const ab = offline('x');
    ab.merge(a.state());
    ab.merge(b.state());
    ab.merge(b.state());
    const ba = offline('y');
    ba.merge(b.state());
    ba.merge(a.state());
    expect(ab.state().keys).toEqual(ba.state().keys);
    expect(ab.state().keys['k']!.counts).toEqual({ a: 3, b: 4 });
    // a learns b's 4: with limit 10 and 7 known, only 3 more fit.
    a.merge(b.state());
    expect(a.consume('k', 1)).toMatchObject({ allowed: true, knownTotal: 8 });
    expect(a.tryConsume('k', 3)).toBe(false);
    expect(a.tryConsume('k', 2)).toBe(true);
    expect(() => a.merge({ nodeId: 'z', windowMs: 1000, keys: {} })).toThrow('windowMs 1000');
    expect(() => a.merge(null as never)).toThrow(GossiplessError);
  });

  it('splits by initialMembers before the first membership read', () => {
    const l = new CrdtRateLimiter({
      limit: 30,
      windowMs: 60_000,
      initialMembers: 3,
      start: false,
      gossipless: { cluster: uniqueName('rl'), storage: testStorage() },
    });
    expect(l.liveMembers()).toBe(3);
    expect(l.consume('k')).toMatchObject({ allowed: true, effectiveLimit: 10, remaining: 9 });
  });

  it('admits nothing before the first membership read unless initialMembers is given', () => {
    // Assuming 1 live member let every new pod of a rolling update admit the whole cluster limit.
    const l = new CrdtRateLimiter({
      limit: 30,
      windowMs: 60_000,
      start: false,
      gossipless: { cluster: uniqueName('rl'), storage: testStorage() },
    });
    expect(l.liveMembers()).toBe(Number.POSITIVE_INFINITY);
    expect(l.consume('k')).toMatchObject({ allowed: false, effectiveLimit: 0, remaining: 0 });
    expect(() => new CrdtRateLimiter({ limit: 1, windowMs: 1000, initialMembers: 0, start: false })).toThrow(
      'initialMembers',
    );
  });

  it('refuses to run its own node without a cluster name, naming GOSSIPLESS_CLUSTER; an existing cluster node needs none', () => {
    const saved = process.env['GOSSIPLESS_CLUSTER'];
    delete process.env['GOSSIPLESS_CLUSTER'];
    try {
      // Before: every such limiter on the account joined cluster 'rate-limiter' and shared one limit.
      const unnamed = () =>
        new CrdtRateLimiter({
          limit: 1,
          windowMs: 1000,
          start: false,
          gossipless: { storage: testStorage() },
        });
      expect(unnamed).toThrow(GossiplessError);
      expect(unnamed).toThrow(/crdt-rate-limiter shim: no cluster name\. Set GOSSIPLESS_CLUSTER/);
      expect(unnamed).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
      process.env['GOSSIPLESS_CLUSTER'] = uniqueName('rl');
      const named = new CrdtRateLimiter({
        limit: 1,
        windowMs: 1000,
        start: false,
        gossipless: { storage: testStorage() },
      });
      expect(named.cluster.name).toBe(process.env['GOSSIPLESS_CLUSTER']);
    } finally {
      if (saved === undefined) delete process.env['GOSSIPLESS_CLUSTER'];
      else process.env['GOSSIPLESS_CLUSTER'] = saved;
    }
    const node = createCluster({ cluster: uniqueName('rl'), storage: testStorage(), campaign: false });
    expect(new CrdtRateLimiter({ limit: 1, windowMs: 1000, start: false, cluster: node }).cluster).toBe(node);
  });

  it('reads the membership the table already holds before its first decision', async () => {
    const cluster = uniqueName('rl');
    const [a, b] = [limiter(cluster, 'a'), limiter(cluster, 'b')];
    await waitFor(() => a.liveMembers() === 2 && b.liveMembers() === 2, 10_000, 'two members');
    // A third node restarting into a cluster of two: its first admitted decision already splits by 3.
    const c = limiter(cluster, 'c');
    expect(c.tryConsume('k')).toBe(false);
    await c.ready();
    expect(c.liveMembers()).toBeGreaterThanOrEqual(2);
    const first = c.consume('k');
    expect(first.allowed).toBe(true);
    expect(first.effectiveLimit).toBeLessThanOrEqual(15);
  });

  it('a state of an older window does not reset a newer one', () => {
    const a = offline('a');
    a.tryConsume('k', 5);
    const window = a.state().keys['k']!.window;
    a.merge({ nodeId: 'old', windowMs: 60_000, keys: { k: { window: window - 1, counts: { old: 9 } } } });
    expect(a.state().keys['k']).toEqual({ window, counts: { a: 5 } });
  });
});

describe('CrdtRateLimiter table mode', () => {
  it('sums every node’s G-counter row: what one node used, the others cannot', async () => {
    const cluster = uniqueName('rl');
    const nodes = ['a', 'b', 'c'].map((id) => limiter(cluster, id, { mode: 'table', syncIntervalMs: 100 }));
    expect(drain(nodes[0]!, 'tenant')).toBe(30);
    // After a sync round on every node, b and c know a's 30.
    await Promise.all(
      nodes.map((l) => new Promise<void>((resolve) => l.once('sync', () => l.once('sync', () => resolve())))),
    );
    expect(nodes[1]!.tryConsume('tenant')).toBe(false);
    expect(nodes[2]!.consume('tenant')).toMatchObject({ allowed: false, knownTotal: 30 });
    // Rows are the G-counter: each node's own row, read back by the others.
    expect(nodes[1]!.state().keys['tenant']!.counts).toEqual({ a: 30 });
  });

  it('keeps deciding from what it knows while storage is down, and reports the sync errors', async () => {
    const l = new CrdtRateLimiter({
      limit: 5,
      windowMs: 60_000,
      mode: 'table',
      syncIntervalMs: 100,
      gossipless: {
        cluster: uniqueName('rl'),
        storage: {
          blobEndpoint: 'http://127.0.0.1:9/devstoreaccount1',
          tableEndpoint: 'http://127.0.0.1:9/devstoreaccount1',
          sharedKey: { accountName: 'devstoreaccount1', accountKey: Buffer.from('k').toString('base64') },
        },
      },
    });
    created.push(l);
    const errors: GossiplessError[] = [];
    l.on('error', ({ error }) => errors.push(error));
    expect(drain(l, 'k')).toBe(5);
    await waitFor(() => errors.length >= 2, 10_000, 'sync errors');
    expect(errors[0]).toBeInstanceOf(GossiplessError);
  });
});
