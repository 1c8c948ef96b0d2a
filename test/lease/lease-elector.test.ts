import { describe, expect, inject, it } from 'vitest';
import { LeaseElector, type LeaseElectorOptions } from '../../src/lease/index.js';
import { GossiplessError } from '../../src/errors/index.js';
import { ServerTimeEstimate, systemClock } from '../../src/clock/index.js';
import { azuriteConnectionString } from '../../src/dev/index.js';
import { connectStorage } from '../../src/storage/index.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { memoryAnnouncerHub } from '../helpers/memory-announcer.js';
import { waitFor } from '../helpers/wait-for.js';
import { stoppedAfterEach } from '../helpers/stopped-after-each.js';

const started = stoppedAfterEach<LeaseElector>();

function elector(options: Partial<LeaseElectorOptions> & { cluster: string }): LeaseElector {
  const e = new LeaseElector({ storage: testStorage(), retryIntervalMs: 200, ...options });
  started.push(e);
  return e;
}

describe('LeaseElector options', () => {
  it.each([
    [{ leaseDurationMs: 5000 }, 'leaseDurationMs must be 15000–60000'],
    [{ leaseDurationMs: 90_000 }, 'leaseDurationMs must be 15000–60000'],
    [{ renewIntervalMs: 12_000 }, 'renewIntervalMs (12000) + callTimeoutMs (3000)'],
    [{ cluster: 'Bad Name' }, 'cluster "Bad Name"'],
    [{ nodeId: 'a/b' }, 'nodeId "a/b"'],
  ])('rejects %o with a message that names the input', (bad, message) => {
    const create = () => new LeaseElector({ storage: testStorage(), cluster: 'ok', ...bad });
    expect(create).toThrow(GossiplessError);
    expect(create).toThrow(message);
  });
});

describe('LeaseElector on Azurite', () => {
  it('elects exactly one of three nodes, with epoch 1, readable by anyone via leader()', async () => {
    const cluster = uniqueName('c');
    const nodes = ['a', 'b', 'c'].map((nodeId) => elector({ cluster, nodeId }));
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.some((n) => n.isLeader), 5000, 'a leader');
    await new Promise((r) => setTimeout(r, 600));
    const leaders = nodes.filter((n) => n.isLeader);
    expect(leaders).toHaveLength(1);
    expect(leaders[0]!.epoch).toBe(1);
    const observer = elector({ cluster, nodeId: 'observer', campaign: false });
    const info = await observer.leader();
    expect(info).toMatchObject({ holder: leaders[0]!.nodeId, epoch: 1, isHeld: true, leaseState: 'leased' });
  });

  it('feeds a server-time estimate with send times, from the leader acquire and the followers 409s', async () => {
    const cluster = uniqueName('c');
    const leaderTime = new ServerTimeEstimate(systemClock);
    const followerTime = new ServerTimeEstimate(systemClock);
    const leader = elector({ cluster, nodeId: 'a', serverTime: leaderTime });
    await leader.start();
    await waitFor(() => leader.isLeader, 5000, 'a leader');
    const follower = elector({ cluster, nodeId: 'b', serverTime: followerTime });
    await follower.start();
    await new Promise((r) => setTimeout(r, 700));
    expect(follower.isLeader).toBe(false);
    // Finite only when upper bounds arrived, i.e. the send times were passed.
    expect(leaderTime.uncertaintyMs()).toBeLessThan(1000);
    expect(followerTime.uncertaintyMs()).toBeLessThan(1000);
    expect(Math.abs(followerTime.now()! - Date.now())).toBeLessThan(1000);
  });

  it('hands over on an immediate stop() within one announcement, with a strictly higher epoch', async () => {
    const cluster = uniqueName('c');
    const hub = memoryAnnouncerHub();
    // Followers retry only every 10 s: a fast takeover can only come from the release announcement.
    const a = elector({ cluster, nodeId: 'a', announcer: hub.announcer(), retryIntervalMs: 10_000 });
    await a.start();
    await waitFor(() => a.isLeader, 5000, 'a to lead');
    const b = elector({ cluster, nodeId: 'b', announcer: hub.announcer(), retryIntervalMs: 10_000 });
    const changes: Array<{ holder: string | undefined; epoch: number }> = [];
    b.on('leader-changed', (e) => changes.push(e));
    await b.start();
    const demoted: string[] = [];
    a.on('demoted', (e) => demoted.push(e.reason));
    const stopAt = Date.now();
    // Immediate: no wait for the followers' next grid look (test/cluster/handover.test.ts has that).
    await a.stop({ immediate: true });
    await waitFor(() => b.isLeader, 3000, 'b to take over');
    expect(Date.now() - stopAt).toBeLessThan(2000);
    expect(demoted).toEqual(['stopped']);
    expect(b.epoch).toBe(2);
    expect(hub.announcements.map((x) => x.type)).toEqual(['elected', 'released', 'elected']);
    expect(changes.at(-1)).toEqual({ holder: 'b', epoch: 2 });
  });

  it('aborts leader work on stop() and waits for it to settle before releasing', async () => {
    const cluster = uniqueName('c');
    const a = elector({ cluster, nodeId: 'a' });
    await a.start();
    await waitFor(() => a.isLeader, 5000, 'a to lead');
    const signal = a.leaderSignal;
    const events: string[] = [];
    a.trackLeaderWork(
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          events.push('job saw abort');
          setTimeout(() => {
            events.push('job settled');
            resolve();
          }, 200);
        });
      }),
    );
    a.on('demoted', () => events.push('demoted'));
    await a.stop({ immediate: true });
    expect(events).toEqual(['job saw abort', 'job settled', 'demoted']);
    const info = await a.leader();
    expect(info.isHeld).toBe(false);
  });

  it('stop() with leader work that ignores its signal: resolves by the deadline and leaves the lease to expire, not released', async () => {
    const cluster = uniqueName('c');
    // The largest margin (L/2) keeps the wait short: stop() waits at most until the step-down time.
    const a = elector({ cluster, nodeId: 'a', safetyMarginMs: 7500, renewIntervalMs: 3000 });
    await a.start();
    await waitFor(() => a.isLeader, 5000, 'a to lead');
    a.trackLeaderWork(new Promise(() => undefined)); // never settles, never looks at its signal
    const demoted: string[] = [];
    a.on('demoted', ({ reason }) => demoted.push(reason));
    const b = elector({ cluster, nodeId: 'b' });
    await b.start();
    const stopAt = performance.now();
    await a.stop();
    expect(performance.now() - stopAt).toBeLessThan(7500 + 2000);
    expect(demoted).toEqual(['stopped']);
    expect(a.isLeader).toBe(false);
    // Released, b would lead within one retry (200 ms); the lease stays held until it expires.
    expect((await a.leader()).isHeld).toBe(true);
    expect(b.isLeader).toBe(false);
    await waitFor(() => b.isLeader, 20_000, 'b to lead once the lease expired');
    expect(b.epoch).toBe(2);
  }, 60_000);

  it('steps down at once when the store says the lease is gone (lease broken)', async () => {
    const cluster = uniqueName('c');
    const a = elector({ cluster, nodeId: 'a', renewIntervalMs: 500 });
    await a.start();
    await waitFor(() => a.isLeader, 5000, 'a to lead');
    const demoted: string[] = [];
    a.on('demoted', (e) => demoted.push(e.reason));
    const signal = a.leaderSignal;
    await testStorage()
      .containerClient('gossipless')
      .getBlobClient(`${cluster}/leader`)
      .getBlobLeaseClient()
      .breakLease(0);
    await waitFor(() => demoted.length > 0, 3000, 'demotion');
    expect(demoted[0]).toBe('lease-lost');
    expect(signal.aborted).toBe(true);
    // …and campaigns again: a new term with a higher epoch.
    await waitFor(() => a.isLeader, 5000, 're-election');
    expect(a.epoch).toBe(2);
  });

  it('releases the lease on stop() even when the first release meets a reset connection', async () => {
    const cluster = uniqueName('c');
    const blobUrl = new URL(inject('azuriteBlobEndpoint'));
    const proxy = new FaultProxy(blobUrl.hostname, Number(blobUrl.port));
    await proxy.listen();
    try {
      const storage = connectStorage({
        connectionString: azuriteConnectionString(
          `http://127.0.0.1:${proxy.port}/devstoreaccount1`,
          inject('azuriteTableEndpoint'),
        ),
      });
      const a = elector({ cluster, nodeId: 'a', storage });
      const errors: string[] = [];
      a.on('error', ({ during }) => errors.push(during));
      await a.start();
      await waitFor(() => a.isLeader, 5000, 'a to lead');
      // Connections are reset for a moment, as when storage closes idle keep-alive sockets.
      proxy.setMode({ kind: 'drop' });
      setTimeout(() => proxy.setMode({ kind: 'pass' }), 150);
      await a.stop({ immediate: true });
      const observer = elector({ cluster, nodeId: 'observer', campaign: false });
      expect(await observer.leader()).toMatchObject({ isHeld: false });
      expect(errors).not.toContain('release');
    } finally {
      await proxy.close();
    }
  });

  it('start() and stop() are idempotent', async () => {
    const a = elector({ cluster: uniqueName('c'), nodeId: 'a' });
    await Promise.all([a.start(), a.start()]);
    await waitFor(() => a.isLeader, 5000, 'a to lead');
    await Promise.all([a.stop({ immediate: true }), a.stop()]);
    expect(a.isLeader).toBe(false);
    await expect(a.start()).rejects.toThrow('stopped');
  });

  it('resign() hands the lease to a follower; setCampaign(false) keeps it away, setCampaign(true) brings it back', async () => {
    const cluster = uniqueName('c');
    const hub = memoryAnnouncerHub();
    const a = elector({ cluster, nodeId: 'a', announcer: hub.announcer(), retryIntervalMs: 300 });
    await a.start();
    await waitFor(() => a.isLeader, 5000, 'a to lead');
    const b = elector({ cluster, nodeId: 'b', announcer: hub.announcer(), retryIntervalMs: 300 });
    await b.start();
    const reasons: string[] = [];
    a.on('demoted', (e) => reasons.push(e.reason));
    a.setCampaign(false);
    expect(a.campaigning).toBe(false);
    await a.resign();
    expect(reasons).toEqual(['resigned']);
    await waitFor(() => b.isLeader, 5000, 'b to take over after the release');
    expect(b.epoch).toBe(2);
    // b resigns: a does not campaign, so b (still campaigning) takes it back after its pause, which
    // lasts past the followers' first look at the lease on the grid (up to L + slack + 1 s).
    await b.resign();
    await waitFor(() => b.isLeader, 20_000, 'b to lead again');
    expect(b.epoch).toBe(3);
    expect(a.isLeader).toBe(false);
    b.setCampaign(false);
    a.setCampaign(true);
    await b.resign();
    await waitFor(() => a.isLeader, 5000, 'a to lead once campaigning again');
    expect(a.epoch).toBe(4);
  }, 40_000);
});
