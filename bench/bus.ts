/**
 * TableBus latency and throughput on an in-memory Azurite.
 *
 * - publish → deliver latency (p50/p99) at poll intervals of 250, 500 and 1000 ms: one subscriber
 *   and four independent publishers (separate bus instances, one process, so both ends read the
 *   same clock), each spacing its publishes at random within a poll interval. Anchor, measured in
 *   the same run: poll/2 + the round trip of a single-entity read.
 * - events/s on one channel: many concurrent publishes (the bus batches them into entity-group
 *   transactions of ≤ 100) against sequential, awaited publishes (one request each) as the anchor.
 *
 * Run: npm run bench:bus  (node --import tsx bench/bus.ts). About one minute.
 */
import { performance } from 'node:perf_hooks';
import { TableBus } from '../src/bus/index.js';
import { azuriteConnectionString, startAzurite, type AzuriteInstance } from '../src/dev/index.js';
import { connectStorage, type StorageConnection } from '../src/storage/index.js';
import { proxyStorage, type StorageProxies } from './support/counting-proxy.js';
import { runBench } from './support/run-bench.js';
import {
  count,
  machineLine,
  median,
  millis,
  note,
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
const WATCHDOG_MS = 240_000;

let azurite: AzuriteInstance | undefined;
let proxies: StorageProxies | undefined;
const buses: TableBus[] = [];

async function cleanup(): Promise<void> {
  await Promise.allSettled(buses.map((b) => b.stop()));
  await proxies?.close();
  await azurite?.stop();
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

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
}

await runBench('bench/bus', WATCHDOG_MS, main, cleanup);
