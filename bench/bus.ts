/**
 * TableBus latency and throughput on an in-memory Azurite.
 *
 * - publish → deliver latency (p50/p99) at poll intervals of 250, 500 and 1000 ms: one subscriber
 *   and four independent publishers (separate bus instances, one process, so both ends read the
 *   same clock), each spacing its publishes at random within a poll interval. Anchor, measured in
 *   the same run: poll/2 + the round trip of a single-entity read.
 * - events/s on one channel: many concurrent publishes (the bus batches them into entity-group
 *   transactions of ≤ 100) against sequential, awaited publishes (one request each) as the anchor.
 * - subscriber memory over a long stream: `heapUsed` after a forced GC at intervals while one
 *   subscriber receives a steady stream, against the heap just before the stream (the anchor). The
 *   dedupe set is pruned by the look-back window, so the heap should level off, not grow with the
 *   stream. Needs `node --expose-gc` (the npm script passes it).
 *
 * Run: npm run bench:bus  (node --expose-gc --import tsx bench/bus.ts). About 1.5 minutes.
 */
import { performance } from 'node:perf_hooks';
import { messageRowKey, TableBus, timeOfRowKey } from '../src/bus/index.js';
import { azuriteConnectionString, startAzurite, type AzuriteInstance } from '../src/dev/index.js';
import { connectStorage, type StorageConnection } from '../src/storage/index.js';
import { proxyStorage, type StorageProxies } from './support/counting-proxy.js';
import { gcHeapUsed, mib } from './support/heap.js';
import { runBench } from './support/run-bench.js';
import { waitFor } from '../test/helpers/wait-for.js';
import {
  count,
  machineLine,
  median,
  millis,
  note,
  seconds,
  printTable,
  progress,
  quantile,
  sleep,
} from './support/report.js';

const POLL_INTERVALS_MS = [250, 500, 1000];
const LATENCY_PUBLISHERS = 4;
const SAMPLES_PER_PUBLISHER: Record<number, number> = { 250: 60, 500: 50, 1000: 40 };
const BURST = Number(process.env.BENCH_BURST ?? 5000);
const SEQUENTIAL_MS = 3000;
const TABLE_PREFIX = 'benchbus';
const WATCHDOG_MS = 360_000;
const STREAM = Number(process.env.BENCH_STREAM ?? 20_000);
/** Stream rate: one batch of 100 every 100 ms. */
const STREAM_BATCH = 100;
const STREAM_BATCH_EVERY_MS = 100;
const STREAM_READ_EVERY = 4000;
/** A short look-back, so the stream spans many look-back windows (its dedupe set is pruned at 2×). */
const STREAM_LOOKBACK_MS = 2000;

let azurite: AzuriteInstance | undefined;
let proxies: StorageProxies | undefined;
const buses: TableBus[] = [];

async function cleanup(): Promise<void> {
  await Promise.allSettled(buses.map((b) => b.stop()));
  await proxies?.close();
  await azurite?.stop();
}

/** Polled every 5 ms: a delivery is seen at most 5 ms after it happened. */
const waitUntil = (condition: () => boolean, timeoutMs: number, what: string): Promise<void> =>
  waitFor(condition, timeoutMs, what, 5);

/** Round trip of one single-entity read (the anchor's "one round trip"), median of 50. */
async function measureRoundTrip(storage: StorageConnection): Promise<{ median: number; p99: number }> {
  const tableName = `${TABLE_PREFIX}bus`;
  await storage.createTableIfNotExists(tableName);
  const table = storage.tableClient(tableName);
  await table.upsertEntity({ partitionKey: 'rtt', rowKey: 'probe', value: 1 }, 'Replace');
  const samples: number[] = [];
  for (let i = 0; i < 60; i++) {
    const started = performance.now();
    await table.getEntity('rtt', 'probe');
    if (i >= 10) samples.push(performance.now() - started);
  }
  return { median: median(samples), p99: quantile(samples, 0.99) };
}

function pair(
  publisherStorage: StorageConnection,
  subscriberStorage: StorageConnection,
  cluster: string,
  pollIntervalMs: number,
): { publisher: TableBus; subscriber: TableBus } {
  const publisher = new TableBus({
    storage: publisherStorage,
    cluster,
    nodeId: 'publisher',
    tablePrefix: TABLE_PREFIX,
  });
  const subscriber = new TableBus({
    storage: subscriberStorage,
    cluster,
    nodeId: 'subscriber',
    tablePrefix: TABLE_PREFIX,
    pollIntervalMs,
  });
  buses.push(publisher, subscriber);
  return { publisher, subscriber };
}

interface LatencyResult {
  pollMs: number;
  samples: number[];
}

async function measureLatency(
  publisherStorage: StorageConnection,
  subscriberStorage: StorageConnection,
  pollMs: number,
): Promise<LatencyResult> {
  const cluster = `bench-lat-${pollMs}`;
  const { subscriber } = pair(publisherStorage, subscriberStorage, cluster, pollMs);
  // Several independent publishers (separate bus instances, so nothing is batched together) give
  // more samples per second of run; each spaces its publishes at random within a poll interval.
  const publishers = Array.from(
    { length: LATENCY_PUBLISHERS },
    (_, k) =>
      new TableBus({
        storage: publisherStorage,
        cluster,
        nodeId: `publisher-${k}`,
        tablePrefix: TABLE_PREFIX,
      }),
  );
  buses.push(...publishers);
  const receivedAt = new Map<number, number>();
  subscriber.subscribe<{ i: number }>('latency', (m) => {
    if (!receivedAt.has(m.payload.i)) receivedAt.set(m.payload.i, performance.now());
  });
  await subscriber.start();
  // Warm-up: the first publish learns the server's clock, the first poll picks the read position.
  await Promise.all(publishers.map((p, k) => p.publish('latency', { i: -1 - k })));
  await waitUntil(() => publishers.every((_, k) => receivedAt.has(-1 - k)), 15_000, 'the warm-up messages');
  const perPublisher = SAMPLES_PER_PUBLISHER[pollMs] ?? 40;
  const sentAt: number[] = [];
  await Promise.all(
    publishers.map(async (publisher, k) => {
      for (let j = 0; j < perPublisher; j++) {
        const i = k * perPublisher + j;
        // Random spacing within one poll interval, so publishes land at every phase of the poll cycle.
        await sleep(Math.random() * pollMs);
        sentAt[i] = performance.now();
        await publisher.publish('latency', { i });
      }
    }),
  );
  const n = sentAt.length;
  await waitUntil(() => sentAt.every((_, i) => receivedAt.has(i)), 15_000, `all ${n} messages`);
  await Promise.all([...publishers.map((p) => p.stop()), subscriber.stop()]);
  return { pollMs, samples: sentAt.map((t, i) => receivedAt.get(i)! - t) };
}

interface ThroughputResult {
  mode: string;
  events: number;
  storedMs: number;
  deliveredMs: number;
  requests: number;
}

/**
 * Publishes with `publishAll` (which returns how many events it sent) after a warm-up message, and
 * times until they are stored and until the subscriber has handled them all.
 */
async function measureThroughput(
  publisherStorage: StorageConnection,
  subscriberStorage: StorageConnection,
  cluster: string,
  mode: string,
  publishAll: (publisher: TableBus) => Promise<number>,
): Promise<ThroughputResult> {
  const { publisher, subscriber } = pair(publisherStorage, subscriberStorage, cluster, 250);
  let received = 0;
  subscriber.subscribe('events', () => void received++);
  await subscriber.start();
  await publisher.publish('events', { warmUp: true });
  await waitUntil(() => received === 1, 15_000, 'the warm-up message');
  received = 0;
  proxies!.reset();
  const started = performance.now();
  const events = await publishAll(publisher);
  const storedMs = performance.now() - started;
  const requests = proxies!.table.requests.length;
  await waitUntil(() => received >= events, 60_000, `all ${events} messages (${mode})`);
  const deliveredMs = performance.now() - started;
  await Promise.all([publisher.stop(), subscriber.stop()]);
  return { mode, events, storedMs, deliveredMs, requests };
}

function measureSequential(publisherStorage: StorageConnection, subscriberStorage: StorageConnection) {
  return measureThroughput(
    publisherStorage,
    subscriberStorage,
    'bench-seq',
    'sequential, awaited (anchor)',
    async (publisher) => {
      const started = performance.now();
      let events = 0;
      while (performance.now() - started < SEQUENTIAL_MS) {
        await publisher.publish('events', { i: events });
        events++;
      }
      return events;
    },
  );
}

function measureBurst(publisherStorage: StorageConnection, subscriberStorage: StorageConnection) {
  return measureThroughput(
    publisherStorage,
    subscriberStorage,
    'bench-burst',
    `${count(BURST)} concurrent publishes (batched)`,
    async (publisher) => {
      await Promise.all(Array.from({ length: BURST }, (_, i) => publisher.publish('events', { i })));
      return BURST;
    },
  );
}

interface HeapReading {
  delivered: number;
  elapsedMs: number;
  heap: number;
  duplicates: number;
}

/**
 * One subscriber (poll 250 ms, look-back 2 s) receives a steady stream from one publisher in the
 * same process; the heap is read, GC'd, every STREAM_READ_EVERY delivered messages. The publisher
 * keeps no per-message state once a publish resolves, so growth is the subscriber's.
 */
async function measureStreamHeap(
  storage: StorageConnection,
): Promise<{ before: number; readings: HeapReading[]; unboundedSet: number }> {
  const cluster = 'bench-stream';
  const publisher = new TableBus({ storage, cluster, nodeId: 'publisher', tablePrefix: TABLE_PREFIX });
  const subscriber = new TableBus({
    storage,
    cluster,
    nodeId: 'subscriber',
    tablePrefix: TABLE_PREFIX,
    pollIntervalMs: 250,
    lookbackMs: STREAM_LOOKBACK_MS,
  });
  buses.push(publisher, subscriber);
  let received = 0;
  subscriber.subscribe('stream', () => void received++);
  await subscriber.start();
  await publisher.publish('stream', { warmUp: true });
  await waitUntil(() => received === 1, 15_000, 'the warm-up message');
  // Past the warm-up's look-back, so the baseline holds no more than the readings will.
  await sleep(STREAM_LOOKBACK_MS * 2 + 500);
  received = 0;
  const before = await gcHeapUsed();
  const readings: HeapReading[] = [];
  const started = performance.now();
  let published = 0;
  let reading: Promise<void> = Promise.resolve();
  let nextReadAt = STREAM_READ_EVERY;
  const publishing = (async () => {
    while (published < STREAM) {
      const batchStart = performance.now();
      const n = Math.min(STREAM_BATCH, STREAM - published);
      await Promise.all(
        Array.from({ length: n }, (_, k) =>
          publisher.publish('stream', { i: published + k, pad: 'x'.repeat(64) }),
        ),
      );
      published += n;
      await sleep(batchStart + STREAM_BATCH_EVERY_MS - performance.now());
    }
  })();
  while (nextReadAt <= STREAM) {
    await waitUntil(() => received >= nextReadAt, 60_000, `${nextReadAt} streamed messages`);
    const delivered = received;
    reading = reading.then(async () => {
      readings.push({
        delivered,
        elapsedMs: performance.now() - started,
        heap: await gcHeapUsed(),
        duplicates: subscriber.stats.duplicates,
      });
    });
    await reading;
    nextReadAt += STREAM_READ_EVERY;
  }
  await publishing;
  // After the stream: two look-backs later, with polls still running, the dedupe set can empty.
  await sleep(STREAM_LOOKBACK_MS * 2 + 1000);
  readings.push({
    delivered: received,
    elapsedMs: performance.now() - started,
    heap: await gcHeapUsed(),
    duplicates: subscriber.stats.duplicates,
  });
  await Promise.all([publisher.stop(), subscriber.stop()]);
  return { before, readings, unboundedSet: await heapOfIdSet(STREAM) };
}

/**
 * For scale, measured in the same run: the heap a dedupe set would hold if it were never pruned —
 * a Map of `n` message ids (real row keys) to their key times, as the subscriber keeps them.
 */
async function heapOfIdSet(n: number): Promise<number> {
  const before = await gcHeapUsed();
  const seen = new Map<string, number>();
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const id = messageRowKey(t0 + i, 'publisher', i + 1);
    seen.set(id, timeOfRowKey(id) ?? 0);
  }
  const held = (await gcHeapUsed()) - before;
  // Keep the set reachable until after the reading.
  return seen.size > 0 ? held : 0;
}

async function main(): Promise<void> {
  progress('starting Azurite');
  azurite = await startAzurite();
  const publisherStorage = connectStorage({ connectionString: azurite.connectionString });
  const subscriberStorage = connectStorage({ connectionString: azurite.connectionString });
  const rtt = await measureRoundTrip(subscriberStorage);
  const latencies: LatencyResult[] = [];
  for (const pollMs of POLL_INTERVALS_MS) {
    progress(`latency at poll ${pollMs} ms`);
    latencies.push(await measureLatency(publisherStorage, subscriberStorage, pollMs));
  }
  // Throughput publishers go through a counting proxy, so the table shows the requests they made.
  proxies = await proxyStorage(azurite, azuriteConnectionString);
  const countedStorage = connectStorage({ connectionString: proxies.connectionString });
  progress('throughput: sequential');
  const sequential = await measureSequential(countedStorage, subscriberStorage);
  progress(`throughput: burst of ${BURST}`);
  const burst = await measureBurst(countedStorage, subscriberStorage);
  progress(`memory: a stream of ${STREAM} messages to one subscriber`);
  const stream = await measureStreamHeap(subscriberStorage);

  process.stdout.write(
    `gossipless bench/bus — TableBus on in-memory Azurite, publishers and subscriber in one process\n` +
      `${await machineLine()}\n`,
  );
  printTable(
    'Round trip of a single-entity read (anchor)',
    ['measure', 'median', 'p99'],
    [['getEntity', millis(rtt.median), millis(rtt.p99)]],
  );
  printTable(
    'publish → deliver latency (publish call → subscriber handler)',
    ['poll', 'samples', 'p50', '± sampling error', 'p99', 'max', 'anchor: poll/2 + RTT', 'p50 within anchor'],
    latencies.map((l) => {
      const anchor = l.pollMs / 2 + rtt.median;
      const p50 = quantile(l.samples, 0.5);
      // Standard error of the median of a wait uniform over one poll interval: poll / (2 √n).
      const error = l.pollMs / (2 * Math.sqrt(l.samples.length));
      const verdict =
        p50 <= anchor
          ? 'yes'
          : p50 - error <= anchor
            ? `within error (+${millis(p50 - anchor)})`
            : `no (+${millis(p50 - anchor)})`;
      return [
        millis(l.pollMs),
        String(l.samples.length),
        millis(p50),
        millis(error),
        millis(quantile(l.samples, 0.99)),
        millis(Math.max(...l.samples)),
        millis(anchor),
        verdict,
      ];
    }),
  );
  note('p99 of 160–240 samples is about the second- or third-largest sample.');
  note('latency includes the publish request itself: RTT(insert) + wait for the next poll + RTT(query).');
  printTable(
    'events/s on one channel (target ≥ 1,000 events/s)',
    [
      'mode',
      'events',
      'publisher requests',
      'stored in',
      'stored events/s',
      'delivered events/s (end to end)',
    ],
    [sequential, burst].map((r) => [
      r.mode,
      count(r.events),
      count(r.requests),
      millis(r.storedMs),
      count((r.events / r.storedMs) * 1000),
      count((r.events / r.deliveredMs) * 1000),
    ]),
  );
  note(
    'delivered events/s runs from the first publish to the subscriber (poll 250 ms) having handled the last.',
  );
  note(
    'batched requests: entity-group transactions of ≤ 100 rows in one partition, written one after another.',
  );
  printTable(
    `subscriber heap over a stream (heapUsed after a forced GC; ${count((STREAM_BATCH * 1000) / STREAM_BATCH_EVERY_MS)} messages/s, poll 250 ms, look-back ${STREAM_LOOKBACK_MS / 1000} s)`,
    ['delivered', 'elapsed', 'heap', 'vs before the stream (anchor)', 'ratio', 'duplicates skipped'],
    [
      ['0 (before)', seconds(0), mib(stream.before), mib(0, true), '1.00', '0'],
      ...stream.readings.map((r, i) => [
        i === stream.readings.length - 1
          ? `${count(r.delivered)} (+${(STREAM_LOOKBACK_MS * 2 + 1000) / 1000} s idle)`
          : count(r.delivered),
        seconds(r.elapsedMs),
        mib(r.heap),
        mib(r.heap - stream.before, true),
        (r.heap / stream.before).toFixed(2),
        count(r.duplicates),
      ]),
    ],
  );
  note(
    `for scale, the same run: a Map of all ${count(STREAM)} message ids (a dedupe set never pruned) holds ${mib(stream.unboundedSet, true)}.`,
  );
  note(
    `bounded: the dedupe set keeps ids for 2 × look-back, about ${count((STREAM_BATCH * 1000 * STREAM_LOOKBACK_MS * 2) / STREAM_BATCH_EVERY_MS / 1000)} at this rate; each poll re-reads the look-back (the duplicates).`,
  );
}

await runBench('bench/bus', WATCHDOG_MS, main, cleanup);
