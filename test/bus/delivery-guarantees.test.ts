import { afterEach, describe, expect, inject, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import {
  messageRowKey,
  parseDeadLetterRow,
  TableBus,
  type BusMessage,
  type TableBusOptions,
} from '../../src/bus/index.js';
import { azuriteConnectionString } from '../../src/dev/index.js';
import { connectStorage } from '../../src/storage/index.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { StorageFaultProxy } from '../support/storage-fault-proxy.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';

const buses: TableBus[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.stop()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const TABLE_PREFIX = 'deliverytest';

function bus(options: Partial<TableBusOptions> & { cluster: string; nodeId: string }): TableBus {
  const b = new TableBus({
    storage: testStorage(),
    pollIntervalMs: 100,
    lookbackMs: 3000,
    tablePrefix: TABLE_PREFIX,
    ...options,
  });
  buses.push(b);
  return b;
}

/** A connection to the run's Azurite whose table calls go to `port` (a proxy in front of it). */
function storageThroughTablePort(port: number): ReturnType<typeof connectStorage> {
  return connectStorage({
    connectionString: azuriteConnectionString(
      inject('azuriteBlobEndpoint'),
      `http://127.0.0.1:${port}/devstoreaccount1`,
    ),
  });
}

async function tableProxy(): Promise<{ proxy: FaultProxy; storage: ReturnType<typeof connectStorage> }> {
  const url = new URL(inject('azuriteTableEndpoint'));
  const proxy = new FaultProxy(url.hostname, Number(url.port));
  await proxy.listen();
  cleanups.push(() => proxy.close());
  return { proxy, storage: storageThroughTablePort(proxy.port) };
}

/** A connection whose table calls go through a request-level fault proxy (rules per request). */
async function tableFaultProxy(): Promise<{
  proxy: StorageFaultProxy;
  storage: ReturnType<typeof connectStorage>;
}> {
  const tableUrl = new URL(inject('azuriteTableEndpoint'));
  const proxy = await new StorageFaultProxy(Number(tableUrl.port), 'table').listen();
  cleanups.push(() => proxy.close());
  return { proxy, storage: storageThroughTablePort(proxy.port) };
}

const table = () => testStorage().tableClient(`${TABLE_PREFIX}bus`);

describe('TableBus redelivery', () => {
  it('redelivers a message whose handler throws, with growing pauses; later messages of that publisher wait, others do not', async () => {
    const cluster = uniqueName('r');
    const consumer = bus({
      cluster,
      nodeId: 'consumer',
      // random 0: each pause is exactly half its nominal value (600 ms, then 1 200 ms).
      redelivery: { maxAttempts: 5, initialBackoffMs: 1200, maxBackoffMs: 10_000, random: () => 0 },
    });
    const log: Array<{ from: string; i: number; at: number }> = [];
    let failuresLeft = 2;
    consumer.subscribe<{ i: number }>('jobs', (m) => {
      log.push({ from: m.from, i: m.payload.i, at: performance.now() });
      if (m.from === 'p1' && m.payload.i === 0 && failuresLeft-- > 0) throw new Error('not yet');
    });
    await consumer.start();
    const p1 = bus({ cluster, nodeId: 'p1' });
    const p2 = bus({ cluster, nodeId: 'p2' });
    await p1.publish('jobs', { i: 0 });
    await p1.publish('jobs', { i: 1 });
    await p2.publish('jobs', { i: 0 });
    await waitFor(() => log.some((e) => e.from === 'p1' && e.i === 1), 15_000, "p1's second message");
    const firstOfP1 = log.filter((e) => e.from === 'p1' && e.i === 0);
    expect(firstOfP1).toHaveLength(3);
    expect(firstOfP1[1]!.at - firstOfP1[0]!.at).toBeGreaterThanOrEqual(590);
    expect(firstOfP1[2]!.at - firstOfP1[1]!.at).toBeGreaterThanOrEqual(1190);
    const index = (from: string, i: number, nth = 0) =>
      log.findIndex(
        (e, k) =>
          e.from === from &&
          e.i === i &&
          log.slice(0, k).filter((x) => x.from === from && x.i === i).length === nth,
      );
    // Order per publisher: p1's second message only after its first finally succeeded.
    expect(index('p1', 1)).toBeGreaterThan(index('p1', 0, 2));
    // Another publisher is not held up by p1's failing message.
    expect(index('p2', 0)).toBeLessThan(index('p1', 0, 2));
    expect(log.filter((e) => e.from === 'p1' && e.i === 1)).toHaveLength(1);
    expect(consumer.stats).toMatchObject({ redeliveries: 2, handlerErrors: 2, deadLettered: 0 });
    expect(consumer.heldForRedelivery).toBe(0);
  });

  it('parks a message on the dead-letter partition after its last attempt, with the original message, the redacted error and the attempts; the publisher’s next message then flows', async () => {
    const cluster = uniqueName('r');
    const consumer = bus({
      cluster,
      nodeId: 'consumer',
      consumerName: 'billing',
      redelivery: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 200 },
    });
    const secret = `AccountKey=${'k'.repeat(40)}==`;
    const got: unknown[] = [];
    const parked: Array<{ id: string; attempts: number; error: string }> = [];
    consumer.on('dead-lettered', (e) => parked.push(e));
    consumer.subscribe<{ order: string }>('orders', (m) => {
      if (m.payload.order === 'poison') throw new Error(`cannot parse (${secret})`);
      got.push(m.payload.order);
    });
    await consumer.start();
    const publisher = bus({ cluster, nodeId: 'pub', epoch: () => 4 });
    const poisonId = await publisher.publish('orders', { order: 'poison' });
    await publisher.publish('orders', { order: 'fine' });
    await waitFor(() => got.includes('fine'), 15_000, 'the next message');
    expect(consumer.stats).toMatchObject({ deadLettered: 1, redeliveries: 2, handlerErrors: 3 });
    expect(parked).toEqual([
      { id: poisonId, channel: 'orders', from: 'pub', attempts: 3, error: expect.any(String) },
    ]);
    expect(parked[0]!.error).not.toContain('kkkk');
    const rows: Array<Record<string, unknown>> = [];
    for await (const row of table().listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq 'd:${cluster}:orders'` },
    })) {
      rows.push(row);
    }
    expect(rows).toHaveLength(1);
    const dead = parseDeadLetterRow(rows[0]!)!;
    expect(dead).toMatchObject({
      messageId: poisonId,
      channel: 'orders',
      from: 'pub',
      epoch: 4,
      attempts: 3,
      consumer: 'billing',
    });
    expect(JSON.parse(dead.payload)).toEqual({ order: 'poison' });
    expect(dead.error).toContain('cannot parse');
    expect(dead.error).toContain('AccountKey=[REDACTED]');
    expect(dead.error).not.toContain('kkkk');
  });

  it('keeps the durable cursor behind a message still being retried, so a restarted consumer gets it again', async () => {
    const cluster = uniqueName('r');
    const publisher = bus({ cluster, nodeId: 'pub' });
    const first = bus({
      cluster,
      nodeId: 'consumer-1',
      consumerName: 'audit',
      redelivery: { maxAttempts: 5, initialBackoffMs: 20_000, maxBackoffMs: 20_000 },
    });
    const firstSaw: string[] = [];
    first.subscribe<string>('audit', (m) => {
      firstSaw.push(m.payload);
      if (m.payload === 'stuck') throw new Error('downstream is down');
    });
    await first.start();
    const stuckId = await publisher.publish('audit', 'stuck');
    await waitFor(() => firstSaw.includes('stuck'), 10_000, 'a first attempt');
    // Past the look-back, so only a held cursor brings the message back after a restart.
    for (let i = 0; i < 5; i++) {
      await publisher.publish('audit', `later-${i}`);
      await new Promise((r) => setTimeout(r, 800));
    }
    expect(first.heldForRedelivery).toBe(6); // the stuck one and the five behind it
    await first.stop();
    const cursor = await table().getEntity<{ readFrom: number }>(`k:${cluster}`, 'audit');
    expect(cursor.readFrom).toBeLessThanOrEqual(Number(stuckId.slice(0, 15)));
    const second = bus({ cluster, nodeId: 'consumer-2', consumerName: 'audit' });
    const secondSaw: string[] = [];
    second.subscribe<string>('audit', (m) => void secondSaw.push(m.payload));
    await second.start();
    await waitFor(() => secondSaw.includes('later-4'), 10_000, 'the restarted consumer to catch up');
    expect(secondSaw.slice(0, 6)).toEqual(['stuck', 'later-0', 'later-1', 'later-2', 'later-3', 'later-4']);
  });

  it('tries a failed cursor write again after the next poll, not 5 s later', async () => {
    const cluster = uniqueName('r');
    const { proxy, storage } = await tableFaultProxy();
    const writes: number[] = [];
    proxy.rule = (request) => {
      if (request.method !== 'PUT' || !request.url.includes("RowKey='audit'")) return undefined;
      writes.push(performance.now());
      // The first write of the position is lost (a brownout): the consumer keeps polling.
      return writes.length === 1 ? { kind: 'reset' } : undefined;
    };
    const consumer = bus({ cluster, nodeId: 'consumer', consumerName: 'audit', storage });
    consumer.subscribe('audit', () => undefined);
    await consumer.start();
    await waitFor(() => writes.length >= 2, 15_000, 'a second cursor write');
    // Before, the next try came 5 s (of server time) after the failed one: a consumer killed
    // meanwhile re-read from an older position than the ~15 s bus.md states.
    expect(writes[1]! - writes[0]!).toBeLessThan(4000);
  });
});

describe('TableBus publish', () => {
  it("one caller's abortSignal rejects only that caller's message, not others' in the same flush", async () => {
    const cluster = uniqueName('a');
    const { proxy, storage } = await tableProxy();
    const publisher = new TableBus({ storage, cluster, nodeId: 'pub', tablePrefix: TABLE_PREFIX });
    buses.push(publisher);
    await publisher.publish('x', 'warm-up'); // creates the table, learns the server clock
    proxy.setMode({ kind: 'latency', ms: 300 });
    const mineAbort = new AbortController();
    const mine = publisher.publish('x', 'mine', { abortSignal: mineAbort.signal }); // starts the flush
    const other = publisher.publish('x', 'other'); // queued behind it in the same flush
    const queuedAbort = new AbortController();
    const dropped = publisher
      .publish('x', 'dropped', { abortSignal: queuedAbort.signal })
      .catch((error: unknown) => error);
    queuedAbort.abort();
    await new Promise((r) => setTimeout(r, 100));
    mineAbort.abort();
    await expect(mine).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await dropped).toMatchObject({ code: 'ABORTED', message: expect.stringMatching(/not sent/) });
    await expect(other).resolves.toMatch(/_pub_/);
    const consumer = bus({ cluster, nodeId: 'consumer' });
    const got: string[] = [];
    consumer.subscribe<string>('x', (m) => void got.push(m.payload));
    await consumer.start();
    await waitFor(() => got.includes('other'), 10_000, "the other caller's message");
    expect(got).not.toContain('dropped');
  });

  it('delivers a retried publish once: rows with the same messageId are one message; a bad messageId is malformed', async () => {
    const cluster = uniqueName('a');
    const consumer = bus({ cluster, nodeId: 'consumer' });
    const got: BusMessage[] = [];
    const malformed: string[] = [];
    consumer.on('malformed', (e) => malformed.push(e.reason));
    consumer.subscribe('x', (m) => void got.push(m));
    await consumer.start();
    const publisher = bus({ cluster, nodeId: 'pub' });
    await publisher.publish('x', 'first'); // the table exists, and the consumer is reading
    const now = Math.floor(publisher.serverNow());
    const id = messageRowKey(now, 'flaky', 1);
    const row = (rowKey: string, extra: Record<string, unknown>) => ({
      partitionKey: `c:${cluster}:x`,
      rowKey,
      channel: 'x',
      nodeId: 'flaky',
      seq: 1,
      payload: '"retried"',
      ...extra,
    });
    // A first attempt committed late and its retry under a later key: one message, by id.
    await table().createEntity(row(id, { messageId: id }));
    await table().createEntity(row(messageRowKey(now + 700, 'flaky', 1), { messageId: id }));
    await table().createEntity(row(messageRowKey(now + 800, 'flaky', 2), { seq: 2, messageId: 'nonsense' }));
    await publisher.publish('x', 'last');
    await waitFor(
      () => got.some((m) => m.payload === 'last') && malformed.length > 0,
      10_000,
      'the last message',
    );
    await new Promise((r) => setTimeout(r, 500));
    // Across publishers there is no order to check: only that the retried message came once.
    expect(got.map((m) => m.payload as string).sort()).toEqual(['first', 'last', 'retried']);
    expect(got.find((m) => m.payload === 'retried')!.id).toBe(id);
    expect(malformed).toEqual(['messageId is not <time>_<node>_<seq>']);
    expect(consumer.stats.malformed).toBe(1);
  });

  // Found by the randomized fault run: a publisher paused (SIGSTOP past the lease) while it waited
  // to retry a publish whose reply was lost started its next attempt 20 s after the first, under
  // a key far from the first copy's; its own consumer, which had forgotten the id by then,
  // delivered the message a second time in one process.
  it('starts no retry later than ¾ of the look-back after the first attempt, even after a pause during the retry wait', async () => {
    const cluster = uniqueName('a');
    const { proxy, storage } = await tableFaultProxy();
    const lookbackMs = 3000; // the bound: no attempt starts later than 2.25 s after the first
    const publisher = new TableBus({
      storage,
      cluster,
      nodeId: 'pub',
      tablePrefix: TABLE_PREFIX,
      lookbackMs,
    });
    buses.push(publisher);
    await publisher.publish('x', 'warm-up'); // creates the table, learns the server clock
    const consumer = bus({ cluster, nodeId: 'consumer', lookbackMs });
    const got: string[] = [];
    consumer.subscribe<string>('x', (m) => void got.push(m.payload));
    await consumer.start();

    let creates = 0;
    proxy.rule = (request) => {
      if (request.method !== 'POST' || !request.url.includes(`/${TABLE_PREFIX}bus`)) return undefined;
      if (++creates > 1) return undefined;
      // The reply is lost after the commit; while the publisher waits to retry, the whole process
      // stops (as under SIGSTOP or a frozen VM) for longer than the publish bound.
      setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4000), 100);
      return { kind: 'drop-reply' };
    };
    const paused = await publisher.publish('x', 'paused').catch((error: unknown) => error);
    expect(paused).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(creates).toBe(1);

    // The first attempt was stored: the consumer gets it, once.
    proxy.rule = () => undefined;
    await publisher.publish('x', 'after');
    await waitFor(() => got.includes('after'), 10_000, 'the message after');
    await new Promise((r) => setTimeout(r, 500));
    expect(got.filter((p) => p === 'paused')).toEqual(['paused']);
  });
});
