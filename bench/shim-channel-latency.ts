/**
 * Send-to-receive latency of a node-discover shim channel and a democracy shim `publish`, with the
 * shims' default bus settings (polls every 500 ms while messages flow, backing off to at most 1 s
 * when idle: CHANNEL_SHIM_IDLE_POLL_MS), against one table round trip measured in the same run (the
 * anchor). Two patterns: a stream (a send every 150–350 ms, so polls stay fast) and isolated sends
 * (each after 5–6 s of quiet, when the poll has backed off to its idle pause). Code that did
 * request/response over a channel needs timeouts above these figures: `gossipless migrate` reports
 * timeouts below twice the p99.
 *
 * Run: node --import tsx bench/shim-channel-latency.ts. About 3 minutes.
 */
import { performance } from 'node:perf_hooks';
import Discover from '../shims/node-discover/index.js';
import Democracy from '../shims/democracy/index.js';
import { startAzurite, type AzuriteInstance } from '../src/dev/index.js';
import { connectStorage, type StorageConnection } from '../src/storage/index.js';
import { millis, printTable, quantile } from './support/report.js';
import { runBench } from './support/run-bench.js';

/** A stream: this many sends, 150–350 ms apart. */
const MESSAGES = 40;
/** Isolated sends: this many, each after `ISOLATED_GAP_MS` plus up to 1 s of quiet. */
const ISOLATED = 10;
const ISOLATED_GAP_MS = 5000;
let azurite: AzuriteInstance | undefined;
const stoppers: Array<() => Promise<unknown>> = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function roundTrip(storage: StorageConnection): Promise<number[]> {
  await storage.createTableIfNotExists('latencyanchor');
  const table = storage.tableClient('latencyanchor');
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await table.upsertEntity({ partitionKey: 'p', rowKey: String(i), v: i });
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** Latencies of a stream and of isolated sends, in that order, through one channel. */
async function measure(
  send: (seq: number) => void,
  onReceive: (handler: (seq: number) => void) => void,
): Promise<{ stream: number[]; isolated: number[] }> {
  const sentAt = new Map<number, number>();
  const latency = new Map<number, number>();
  onReceive((seq) => {
    const t = sentAt.get(seq);
    if (t !== undefined && !latency.has(seq)) latency.set(seq, performance.now() - t);
  });
  const sendOne = (seq: number): void => {
    sentAt.set(seq, performance.now());
    send(seq);
  };
  const received = async (upTo: number): Promise<void> => {
    const deadline = performance.now() + 10_000;
    while ([...latency.keys()].filter((k) => k < upTo).length < upTo && performance.now() < deadline)
      await sleep(50);
  };
  for (let seq = 0; seq < MESSAGES; seq++) {
    sendOne(seq);
    // Spread sends over the poll cycle so the figures cover every phase of it.
    await sleep(150 + Math.random() * 200);
  }
  await received(MESSAGES);
  for (let seq = MESSAGES; seq < MESSAGES + ISOLATED; seq++) {
    await sleep(ISOLATED_GAP_MS + Math.random() * 1000);
    sendOne(seq);
    await received(seq + 1);
  }
  const pick = (from: number, to: number): number[] =>
    [...latency].filter(([seq]) => seq >= from && seq < to).map(([, ms]) => ms);
  return { stream: pick(0, MESSAGES), isolated: pick(MESSAGES, MESSAGES + ISOLATED) };
}

function row(name: string, samples: number[], anchor: number): string[] {
  const p99 = quantile(samples, 0.99);
  return [
    name,
    String(samples.length),
    millis(quantile(samples, 0.5)),
    millis(quantile(samples, 0.95)),
    millis(p99),
    `${(quantile(samples, 0.5) / anchor).toFixed(1)}x`,
  ];
}

async function main(): Promise<void> {
  azurite = await startAzurite();
  const cs = azurite.connectionString;
  const anchor = quantile(await roundTrip(connectStorage({ connectionString: cs })), 0.5);
  const gossipless = (cluster: string) => ({ cluster, storage: connectStorage({ connectionString: cs }) });

  const sender = new Discover({ ignoreProcess: false, gossipless: gossipless('latency-nd') });
  const receiver = new Discover({ ignoreProcess: false, gossipless: gossipless('latency-nd') });
  stoppers.push(
    async () => sender.stop(),
    async () => receiver.stop(),
  );
  await sleep(1500);
  const discover = await measure(
    (seq) => sender.send('bench', { seq }),
    (handler) => receiver.join('bench', (data: { seq: number }) => handler(data.seq)),
  );

  const publisher = new Democracy({ id: 'pub', gossipless: gossipless('latency-dm') });
  const subscriber = new Democracy({ id: 'sub', gossipless: gossipless('latency-dm') });
  stoppers.push(
    () => publisher.stop(),
    () => subscriber.stop(),
  );
  subscriber.subscribe('bench');
  await sleep(1500);
  const democracy = await measure(
    (seq) => publisher.publish('bench', { seq }),
    (handler) => subscriber.on('bench', (data: { seq: number }) => handler(data.seq)),
  );

  printTable(
    `Shim channel latency, default bus settings (poll 500 ms while messages flow, idle pause at most 1 s); anchor: one table upsert, median ${millis(anchor)}`,
    ['path', 'received', 'p50', 'p95', 'p99', 'p50 / anchor'],
    [
      row(`node-discover send → join handler, a stream (${MESSAGES})`, discover.stream, anchor),
      row(`node-discover, isolated sends after 5–6 s quiet (${ISOLATED})`, discover.isolated, anchor),
      row(`democracy publish → subscriber, a stream (${MESSAGES})`, democracy.stream, anchor),
      row(`democracy, isolated sends after 5–6 s quiet (${ISOLATED})`, democracy.isolated, anchor),
    ],
  );
  const p99 = Math.max(
    ...[discover, democracy].flatMap((d) => [d.stream, d.isolated]).map((x) => quantile(x, 0.99)),
  );
  process.stdout.write(`\ntwice the worst p99: ${millis(2 * p99)}\n`);
}

async function cleanup(): Promise<void> {
  await Promise.allSettled(stoppers.map((stop) => stop()));
  await azurite?.stop();
}

await runBench('bench/shim-channel-latency', 360_000, main, cleanup);
