import { afterEach, describe, expect, inject, it } from 'vitest';
import Swim, { MemberState, type SwimMemberData, type SwimOptions } from '../../shims/swim/index.js';
import { busTableName } from '../../src/table-layout/index.js';
import { GossiplessError } from '../../src/errors/index.js';
import { connectStorage, storageStatusCode } from '../../src/storage/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { testStorage, uniqueName } from '../helpers/storage.js';

// The real `swim` (0.6.0) cannot be installed on Node 20: its msgpack and farmhash native
// modules fail to compile. These expectations are written from its published source
// (lib/swim.js, lib/membership.js, lib/member.js); docs/shims.md says so.

const created: Swim[] = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((s) => s.leave()));
});

const FAST_MEMBERSHIP = { heartbeatIntervalMs: 250, memberTtlMs: 1500, suspectAfterMs: 600 };

function swim(
  cluster: string,
  host: string,
  extra: Partial<SwimOptions> = {},
  membership: typeof FAST_MEMBERSHIP = FAST_MEMBERSHIP,
): Swim {
  const s = new Swim({
    local: { host, meta: { app: 'api' } },
    ...extra,
    gossipless: {
      cluster,
      storage: testStorage(),
      tablePrefix: 'shimtest',
      membership,
    },
  });
  created.push(s);
  return s;
}

function bootstrap(s: Swim, hosts: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => s.bootstrap(hosts, (err) => (err ? reject(err) : resolve())));
}

describe('swim shim (contract from swim 0.6.0 source)', () => {
  it('has swim’s statics and shapes', () => {
    expect(Swim.EventType).toEqual({ Change: 'change', Update: 'update', Error: 'error', Ready: 'ready' });
    expect(Swim.State).toEqual({ Started: 'started', Stopped: 'stopped' });
    expect(Swim.Default).toEqual({ joinTimeout: 300, joinCheckInterval: 50 });
    expect(Object.keys(Swim.Error).sort()).toEqual([
      'InvalidStateError',
      'JoinFailedError',
      'ListenFailedError',
    ]);
    expect(MemberState).toEqual({ Alive: 0, Suspect: 1, Faulty: 2 });
    expect(() => new Swim({ local: { host: 'no-port' }, gossipless: { storage: testStorage() } })).toThrow(
      GossiplessError,
    );
  });

  it('joins: change then update (Alive) for a new member, members() and whoami() shapes, equal checksums', async () => {
    const cluster = uniqueName('sw');
    const a = swim(cluster, '10.0.0.1:11000');
    const b = swim(cluster, '10.0.0.2:11000');
    const events: Array<[string, SwimMemberData]> = [];
    a.on(Swim.EventType.Change, (d: SwimMemberData) => events.push(['change', d]));
    a.on(Swim.EventType.Update, (d: SwimMemberData) => events.push(['update', d]));
    await bootstrap(a);
    await bootstrap(b, ['10.0.0.1:11000']);
    expect(a.state).toBe('started');
    await waitFor(
      () => a.members().length === 1 && b.members().length === 1,
      10_000,
      'both to see each other',
    );
    expect(events.slice(0, 2)).toEqual([
      ['change', { meta: { app: 'api' }, host: '10.0.0.2:11000', state: 0, incarnation: 0 }],
      ['update', { meta: { app: 'api' }, host: '10.0.0.2:11000', state: 0, incarnation: 0 }],
    ]);
    expect(a.whoami()).toBe('10.0.0.1:11000');
    expect(
      a
        .members(true)
        .map((m) => m.host)
        .sort(),
    ).toEqual(['10.0.0.1:11000', '10.0.0.2:11000']);
    expect(a.checksum()).toBe(b.checksum());
    expect(a.checksum()).toMatch(/^\d+$/);
  });

  it('updateMeta: local update at once, peers get an update with the new meta and a higher incarnation', async () => {
    const cluster = uniqueName('sw');
    const a = swim(cluster, '10.0.0.1:11000');
    const b = swim(cluster, '10.0.0.2:11000');
    await Promise.all([bootstrap(a), bootstrap(b)]);
    await waitFor(() => a.members().length === 1, 10_000, 'a to see b');
    const local: SwimMemberData[] = [];
    b.on('update', (d: SwimMemberData) => local.push(d));
    const seen: SwimMemberData[] = [];
    a.on('update', (d: SwimMemberData) => seen.push(d));
    b.updateMeta({ app: 'api', version: 2 });
    expect(local[0]).toEqual({
      meta: { app: 'api', version: 2 },
      host: '10.0.0.2:11000',
      state: 0,
      incarnation: 1,
    });
    await waitFor(() => seen.some((d) => (d.meta as { version?: number }).version === 2), 5000, 'the update');
    const update = seen.find((d) => (d.meta as { version?: number }).version === 2)!;
    expect(update.incarnation).toBeGreaterThan(0);
    expect(a.checksum()).not.toBe('');
  });

  it('a member that leaves becomes Faulty: change then update with state 2, listed with hasFaulty', async () => {
    const cluster = uniqueName('sw');
    const a = swim(cluster, '10.0.0.1:11000');
    const b = swim(cluster, '10.0.0.2:11000');
    await Promise.all([bootstrap(a), bootstrap(b)]);
    await waitFor(() => a.members().length === 1, 10_000, 'a to see b');
    const events: Array<[string, number]> = [];
    a.on('change', (d: SwimMemberData) => events.push(['change', d.state]));
    a.on('update', (d: SwimMemberData) => events.push(['update', d.state]));
    await b.leave();
    expect(b.state).toBe('stopped');
    await waitFor(() => a.members().length === 0, 10_000, 'b to be gone');
    expect(events).toEqual([
      ['change', MemberState.Faulty],
      ['update', MemberState.Faulty],
    ]);
    expect(a.members(false, true)).toEqual([
      { meta: { app: 'api' }, host: '10.0.0.2:11000', state: 2, incarnation: 0 },
    ]);
  });

  it('reports a late heartbeat as Suspect (update with state 1) before the TTL makes it Faulty', async () => {
    const cluster = uniqueName('sw');
    // Liveness is judged by the server's clock, estimated from Date headers much finer than their
    // 1 s resolution (ServerTimeEstimate): a suspect window of 800 ms, three reads long, is not
    // stepped over between two reads. By the header alone an age could jump by a second.
    const a = swim(
      cluster,
      '10.0.0.1:11000',
      {},
      { heartbeatIntervalMs: 250, memberTtlMs: 1400, suspectAfterMs: 600 },
    );
    await bootstrap(a);
    const states: number[] = [];
    a.on('update', (d: SwimMemberData) => states.push(d.state));
    // A member that heartbeats once and then falls silent (its process hangs): one row, never renewed.
    const table = testStorage().tableClient(busTableName('shimtest'));
    await table.upsertEntity({
      partitionKey: `m:${cluster}`,
      rowKey: 'silent',
      nodeId: 'silent',
      metadata: JSON.stringify({ swim: { host: '10.0.0.9:11000', meta: null } }),
      startedAt: new Date().toISOString(),
      incarnation: 0,
    });
    await waitFor(() => states.includes(MemberState.Faulty), 10_000, 'faulty');
    expect(states[0]).toBe(MemberState.Alive);
    expect(states.indexOf(MemberState.Suspect)).toBeGreaterThan(0);
    expect(states.indexOf(MemberState.Suspect)).toBeLessThan(states.indexOf(MemberState.Faulty));
  });

  it('bootstrap twice is an InvalidStateError (callback, or error event without one); join when stopped too', async () => {
    const a = swim(uniqueName('sw'), '10.0.0.1:11000');
    await bootstrap(a);
    const viaCallback = await new Promise<Error | undefined>((r) => a.bootstrap([], r));
    expect(viaCallback?.name).toBe('InvalidStateError');
    const viaEvent = new Promise<Error>((r) => a.once('error', r));
    a.bootstrap([]);
    expect((await viaEvent).name).toBe('InvalidStateError');
    const stopped = swim(uniqueName('sw'), '10.0.0.3:11000');
    const joinError = await new Promise<Error | undefined>((r) => stopped.join(['x:1'], r));
    expect(joinError).toBeInstanceOf(Swim.Error.InvalidStateError);
  });

  it('a storage outage fails the join within the bounded time, with the last storage error as cause', async () => {
    const s = new Swim({
      local: { host: '10.0.0.1:11000' },
      joinTimeout: 3000,
      gossipless: {
        cluster: uniqueName('sw'),
        storage: {
          blobEndpoint: 'http://127.0.0.1:9/devstoreaccount1',
          tableEndpoint: 'http://127.0.0.1:9/devstoreaccount1',
          sharedKey: { accountName: 'devstoreaccount1', accountKey: Buffer.from('k').toString('base64') },
        },
        membership: { heartbeatIntervalMs: 200, memberTtlMs: 1000 },
      },
    });
    created.push(s);
    const errors: unknown[] = [];
    s.on('error', (e) => errors.push(e));
    const started = performance.now();
    const result = await new Promise<Error | undefined>((r) => s.bootstrap(['10.0.0.2:11000'], r));
    const elapsed = performance.now() - started;
    expect(result).toBeInstanceOf(Swim.Error.JoinFailedError);
    expect((result?.cause as GossiplessError).code).toBe('STORAGE_UNAVAILABLE');
    // joinTimeout 3000, with room for a loaded machine; before the fix the callback never came.
    expect(elapsed).toBeGreaterThanOrEqual(2900);
    expect(elapsed).toBeLessThan(15_000);
    expect(errors[0]).toBeInstanceOf(GossiplessError);
    expect(s.state).toBe('stopped');
  });

  it('a 403 from storage fails the join at once with the storage error, not after the timeout', async () => {
    const wrongKey = inject('azuriteConnectionString').replace(
      /AccountKey=[^;]+/,
      `AccountKey=${Buffer.from('not-the-key').toString('base64')}`,
    );
    const s = new Swim({
      local: { host: '10.0.0.1:11000' },
      joinTimeout: 60_000,
      gossipless: {
        cluster: uniqueName('sw'),
        storage: connectStorage({ connectionString: wrongKey }),
        tablePrefix: 'shimtest',
        membership: { heartbeatIntervalMs: 200, memberTtlMs: 1000 },
      },
    });
    created.push(s);
    const started = performance.now();
    const result = await new Promise<Error | undefined>((r) => s.bootstrap([], r));
    expect(result).toBeInstanceOf(Swim.Error.JoinFailedError);
    expect((result?.cause as GossiplessError).code).toBe('STORAGE_ERROR');
    expect(storageStatusCode((result?.cause as GossiplessError).cause)).toBe(403);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('leave() then bootstrap() rejoins: peers see the node faulty, then alive again', async () => {
    const cluster = uniqueName('sw');
    const a = swim(cluster, '10.0.0.1:11000');
    const b = swim(cluster, '10.0.0.2:11000');
    await Promise.all([bootstrap(a), bootstrap(b)]);
    await waitFor(() => a.members().length === 1, 10_000, 'a sees b');
    await b.leave();
    await waitFor(() => a.members().length === 0, 10_000, 'a sees b leave');
    await bootstrap(b);
    await waitFor(() => a.members().length === 1, 10_000, 'a sees b again');
    expect(a.members()[0]).toMatchObject({ host: '10.0.0.2:11000', state: MemberState.Alive });
    expect(b.members().map((m) => m.host)).toEqual(['10.0.0.1:11000']);
  });

  it('refuses to derive a cluster from the port alone, naming GOSSIPLESS_CLUSTER', () => {
    expect(
      () => new Swim({ local: { host: '10.0.0.1:11000' }, gossipless: { storage: testStorage() } }),
    ).toThrow(/GOSSIPLESS_CLUSTER/);
  });
});
