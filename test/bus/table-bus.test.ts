import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { TableBus, type BusMessage, type TableBusOptions } from '../../src/bus/index.js';
import { ServerTimeEstimate, skewedClock, systemClock } from '../../src/clock/index.js';
import { GossiplessError } from '../../src/errors/index.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const buses: TableBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.stop()));
});

function bus(options: Partial<TableBusOptions> & { cluster: string; nodeId: string }): TableBus {
  const b = new TableBus({
    storage: testStorage(),
    pollIntervalMs: 100,
    lookbackMs: 3000,
    tablePrefix: 'bustest',
    ...options,
  });
  buses.push(b);
  return b;
}

describe('TableBus', () => {
  it('feeds its server-time estimate with send times, from publishes and polls', async () => {
    const cluster = uniqueName('b');
    const serverTime = new ServerTimeEstimate(systemClock);
    const node = bus({ cluster, nodeId: 'p', serverTime });
    node.subscribe('jobs', () => undefined);
    await node.start();
    await node.publish('jobs', { n: 1 });
    // Finite only when upper bounds arrived, i.e. the send times were passed.
    expect(serverTime.uncertaintyMs()).toBeLessThan(1000);
    expect(Math.abs(node.serverNow() - Date.now())).toBeLessThan(1000);
  });

  it('times its polls (1 s interval) at the server second boundary until the estimate is narrow', async () => {
    const cluster = uniqueName('b');
    const serverTime = new ServerTimeEstimate(systemClock);
    const node = bus({
      cluster,
      nodeId: 'p',
      serverTime,
      pollIntervalMs: 1000,
      idlePollIntervalMs: 1000,
      lookbackMs: 10_000,
    });
    node.subscribe('jobs', () => undefined);
    await node.start();
    // One poll a second at a steady phase would leave it ~±500 ms; aimed polls halve it each time.
    await waitFor(() => (serverTime.uncertaintyMs() ?? Infinity) <= 50, 15_000, 'a narrow estimate');
    // Azurite's clock is this machine's: the truth must lie inside the narrowed bounds.
    const bounds = serverTime.bounds()!;
    expect(Date.now()).toBeGreaterThanOrEqual(bounds.lower - 5);
    expect(Date.now()).toBeLessThanOrEqual(bounds.upper + 5);
    // now() may hold still for a moment (it never steps back to a narrower midpoint), then follows it.
    await waitFor(() => Math.abs(serverTime.now()! - Date.now()) <= 60, 1500, 'now() on the narrow estimate');
  });

  it('delivers every message once, in order per publisher, with the sender and its epoch', async () => {
    const cluster = uniqueName('b');
    const consumer = bus({ cluster, nodeId: 'consumer' });
    const received: BusMessage[] = [];
    consumer.subscribe('jobs', (m) => void received.push(m));
    await consumer.start();
    const p1 = bus({ cluster, nodeId: 'p1', epoch: () => 7 });
    const p2 = bus({ cluster, nodeId: 'p2' });
    for (let i = 0; i < 20; i++) {
      await Promise.all([p1.publish('jobs', { n: i }), p2.publish('jobs', { n: i })]);
    }
    await waitFor(() => received.length >= 40, 10_000, '40 messages');
    await new Promise((r) => setTimeout(r, 400));
    expect(received).toHaveLength(40);
    expect(new Set(received.map((m) => m.id)).size).toBe(40);
    for (const from of ['p1', 'p2']) {
      const mine = received.filter((m) => m.from === from).map((m) => (m.payload as { n: number }).n);
      expect(mine).toEqual([...Array(20).keys()]);
    }
    expect(received.find((m) => m.from === 'p1')?.epoch).toBe(7);
    expect(received.find((m) => m.from === 'p2')?.epoch).toBeUndefined();
    expect(consumer.stats.delivered).toBe(40);
  });

  it('loses nothing from publishers whose clocks are 30 s ahead and 30 s behind', async () => {
    const cluster = uniqueName('b');
    const consumer = bus({ cluster, nodeId: 'consumer' });
    const received: BusMessage[] = [];
    consumer.subscribe('events', (m) => void received.push(m));
    await consumer.start();
    const ahead = bus({ cluster, nodeId: 'ahead', clock: skewedClock(30_000) });
    const behind = bus({ cluster, nodeId: 'behind', clock: skewedClock(-30_000) });
    for (let i = 0; i < 15; i++) {
      await ahead.publish('events', { i });
      await behind.publish('events', { i });
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => received.length >= 30, 10_000, '30 messages');
    const order = (from: string) =>
      received.filter((m) => m.from === from).map((m) => (m.payload as { i: number }).i);
    expect(order('ahead')).toEqual([...Array(15).keys()]);
    expect(order('behind')).toEqual([...Array(15).keys()]);
  });

  it('resumes a durable consumer after a restart mid-stream without losing a message', async () => {
    const cluster = uniqueName('b');
    const publisher = bus({ cluster, nodeId: 'pub' });
    const seen = new Set<number>();
    const first = bus({ cluster, nodeId: 'consumer-1', consumerName: 'audit' });
    first.subscribe('audit', (m) => void seen.add((m.payload as { i: number }).i));
    await first.start();
    for (let i = 0; i < 10; i++) await publisher.publish('audit', { i });
    await waitFor(() => seen.size >= 10, 10_000, 'first half');
    await first.stop();
    for (let i = 10; i < 25; i++) await publisher.publish('audit', { i });
    const second = bus({ cluster, nodeId: 'consumer-2', consumerName: 'audit' });
    second.subscribe('audit', (m) => void seen.add((m.payload as { i: number }).i));
    await second.start();
    await waitFor(() => seen.size >= 25, 10_000, 'all 25');
    expect([...seen].sort((a, b) => a - b)).toEqual([...Array(25).keys()]);
  });

  it('skips and counts a malformed row without stopping delivery', async () => {
    const cluster = uniqueName('b');
    const consumer = bus({ cluster, nodeId: 'consumer' });
    const received: unknown[] = [];
    const malformed: string[] = [];
    consumer.on('malformed', (e) => malformed.push(e.reason));
    consumer.subscribe('jobs', (m) => void received.push(m.payload));
    await consumer.start();
    const publisher = bus({ cluster, nodeId: 'pub' });
    await publisher.publish('jobs', 'before');
    const table = testStorage().tableClient(publisher.tableName);
    const key = `${String(Math.floor(publisher.serverNow())).padStart(15, '0')}_intruder_000000000001`;
    await table.createEntity({
      partitionKey: `c:${cluster}:jobs`,
      rowKey: key,
      channel: 'jobs',
      nodeId: 'intruder',
      seq: 1,
      payload: '{not json',
    });
    await publisher.publish('jobs', 'after');
    await waitFor(() => received.length >= 2 && malformed.length >= 1, 10_000, 'delivery past the bad row');
    expect(received).toEqual(['before', 'after']);
    expect(malformed).toEqual(['payload is not valid JSON']);
    expect(consumer.stats.malformed).toBe(1);
  });

  it('refuses a payload over 64 KiB with a clear error, and a bad channel name', async () => {
    const publisher = bus({ cluster: uniqueName('b'), nodeId: 'pub' });
    const big = 'x'.repeat(40_000);
    await expect(publisher.publish('jobs', big)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect(publisher.publish('jobs', big)).rejects.toThrow(/limit is 65536/);
    await expect(publisher.publish('no/slash', 1)).rejects.toThrow(GossiplessError);
  });

  it('writes a burst as entity-group transactions and delivers all of it', async () => {
    const cluster = uniqueName('b');
    const consumer = bus({ cluster, nodeId: 'consumer' });
    let count = 0;
    consumer.subscribe('burst', () => void count++);
    await consumer.start();
    const publisher = bus({ cluster, nodeId: 'pub' });
    const ids = await Promise.all([...Array(250).keys()].map((i) => publisher.publish('burst', { i })));
    expect(new Set(ids).size).toBe(250);
    await waitFor(() => count >= 250, 15_000, '250 messages');
    expect(publisher.stats.published).toBe(250);
  });

  it('deletes messages past retention when leader, and only then', async () => {
    const cluster = uniqueName('b');
    let leader = false;
    const publisher = bus({
      cluster,
      nodeId: 'pub',
      lookbackMs: 1000,
      retentionMs: 2500,
      redelivery: { maxAttempts: 1 },
      isLeader: () => leader,
    });
    await publisher.start();
    await Promise.all([...Array(5).keys()].map((i) => publisher.publish('old', { i })));
    await new Promise((r) => setTimeout(r, 3000));
    const table = testStorage().tableClient(publisher.tableName);
    const countRows = async () => {
      let n = 0;
      for await (const _ of table.listEntities({
        queryOptions: { filter: `PartitionKey eq 'c:${cluster}:old'` },
      }))
        n++;
      return n;
    };
    expect(await countRows()).toBe(5);
    leader = true;
    await waitFor(() => publisher.stats.retentionDeleted >= 5, 5000, 'retention');
    expect(await countRows()).toBe(0);
  });
});

describe('TableBus polling while idle', () => {
  it('backs off while nothing arrives, returns to the fast interval when a message does, and on a nudge', async () => {
    const cluster = uniqueName('b');
    const consumer = bus({
      cluster,
      nodeId: 'consumer',
      pollIntervalMs: 100,
      idlePollIntervalMs: 2000,
      quietAfterMs: 500,
    });
    const got: Array<{ payload: unknown; at: number }> = [];
    consumer.subscribe('jobs', (m) => void got.push({ payload: m.payload, at: performance.now() }));
    await consumer.start();
    await waitFor(() => consumer.stats.polls > 0, 10_000, 'the first poll');
    // 6 s idle: 0.5 s at 100 ms, then 200, 400, 800, 1 600, 2 000, 2 000 ms pauses: about 12
    // polls, where a fixed 100 ms interval makes 60.
    const idleFrom = consumer.stats.polls;
    await sleep(6000);
    const idlePolls = consumer.stats.polls - idleFrom;
    expect(idlePolls).toBeLessThanOrEqual(20);
    expect(idlePolls).toBeGreaterThanOrEqual(3);
    // The first message after the quiet spell waits at most one idle pause (2 s) plus a round trip.
    const publisher = bus({ cluster, nodeId: 'pub' });
    await publisher.publish('jobs', 'warm-up'); // learns the server clock
    await waitFor(() => got.length === 1, 10_000, 'the first message');
    // Messages keep flowing: polls are fast again, so the next one arrives well within an idle pause.
    const sentAt = performance.now();
    await publisher.publish('jobs', 'second');
    await waitFor(() => got.length === 2, 10_000, 'the second message');
    expect(got[1]!.at - sentAt).toBeLessThan(1500);
    // Quiet again, then a nudge: the next poll comes within the fast interval, not the idle one.
    await sleep(4000);
    const before = consumer.stats.polls;
    const nudgedAt = performance.now();
    consumer.nudge();
    await waitFor(() => consumer.stats.polls > before, 10_000, 'a poll after the nudge');
    expect(performance.now() - nudgedAt).toBeLessThan(1500);
  });

  it('an idle durable consumer does not rewrite its stored read position', async () => {
    const cluster = uniqueName('b');
    const publisher = bus({ cluster, nodeId: 'pub' });
    // Published before the consumer starts (inside its look-back): its first poll delivers it and
    // stores the position with it, so every later write would be a rewrite of an idle position.
    await publisher.publish('audit', 1);
    const consumer = bus({ cluster, nodeId: 'consumer', consumerName: 'audit', idlePollIntervalMs: 100 });
    const got: unknown[] = [];
    consumer.subscribe('audit', (m) => void got.push(m.payload));
    await consumer.start();
    await waitFor(() => got.length === 1, 10_000, 'the message');
    const table = testStorage().tableClient(consumer.tableName);
    const cursor = () => table.getEntity<{ readFrom: number }>(`k:${cluster}`, 'audit');
    await waitFor(() => consumer.stats.polls > 3, 10_000, 'a few polls');
    const stored = await cursor().catch(() => undefined);
    // Polling every 100 ms for 6.5 s: the old code stored the position every 5 s regardless.
    await sleep(6500);
    expect(stored).toBeDefined();
    expect((await cursor()).etag).toBe(stored!.etag);
    // A delivery moves it again (at the next write, at most 5 s later).
    await publisher.publish('audit', 2);
    await waitFor(() => got.length === 2, 10_000, 'the second message');
    await consumer.stop();
    expect((await cursor()).readFrom).toBeGreaterThan(stored!.readFrom);
  });
});

/**
 * A publisher that published `payload` on `news`, and a subscriber bus created a while later, both
 * with a look-back that still reaches that message.
 */
async function publishedBeforeSubscriberExists(
  payload: string,
): Promise<{ publisher: TableBus; subscriber: TableBus }> {
  const cluster = uniqueName('b');
  const publisher = bus({ cluster, nodeId: 'pub', lookbackMs: 10_000 });
  await publisher.publish('news', payload);
  // Well past both nodes' clock uncertainty (≤ ~1 s each just after start), well inside the look-back.
  await sleep(5000);
  const subscriber = bus({ cluster, nodeId: 'sub', lookbackMs: 10_000 });
  return { publisher, subscriber };
}

describe("TableBus subscribe({ since: 'subscribed' })", () => {
  it('delivers what was published after the call, not what was published before it within the look-back', async () => {
    const { publisher, subscriber } = await publishedBeforeSubscriberExists('before');
    const fromNow: string[] = [];
    const everything: string[] = [];
    subscriber.subscribe<string>('news', (m) => void fromNow.push(m.payload), { since: 'subscribed' });
    subscriber.subscribe<string>('news', (m) => void everything.push(m.payload));
    await subscriber.start();
    // Right after the call, before the subscriber has even polled or learnt the server's clock.
    await publisher.publish('news', 'after');
    await waitFor(() => everything.includes('after') && fromNow.includes('after'), 10_000, "'after' at both");
    await sleep(300);
    // The look-back reached 'before': only the option keeps it from the first handler.
    expect(everything).toEqual(['before', 'after']);
    expect(fromNow).toEqual(['after']);
  });

  it('does not count a message as delivered when every handler subscribed after it was published', async () => {
    const { publisher, subscriber } = await publishedBeforeSubscriberExists('old');
    const got: string[] = [];
    subscriber.subscribe<string>('news', (m) => void got.push(m.payload), { since: 'subscribed' });
    await subscriber.start();
    await publisher.publish('news', 'new');
    await waitFor(() => got.includes('new'), 10_000, "'new'");
    expect(got).toEqual(['new']);
    expect(subscriber.stats).toMatchObject({ delivered: 1, beforeSubscription: 1 });
  });
});

describe('TableBus recovery', () => {
  it('recreates its table when it disappears, and keeps publishing', async () => {
    const cluster = uniqueName('b');
    const storage = testStorage();
    const b = new TableBus({
      storage,
      cluster,
      nodeId: 'pub',
      tablePrefix: uniqueName('gone'),
      pollIntervalMs: 100,
    });
    buses.push(b);
    await b.publish('x', 1);
    await storage.tableService.deleteTable(b.tableName);
    // The first publish after the deletion fails with 404 and forgets the table; the next recreates it.
    await expect(b.publish('x', 2)).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    await expect(b.publish('x', 3)).resolves.toMatch(/_pub_/);
  });
});
