/**
 * Send-to-receive latency of a node-discover shim channel and a democracy shim `publish`, with the
 * shims' default bus settings (one poll a second), against one table round trip measured in the same
 * run (the anchor). Code that did request/response over a channel needs timeouts above these
 * figures: `gossipless migrate` reports timeouts below twice the p99.
 *
 * Run: node --import tsx bench/shim-channel-latency.ts. About 1 minute.
 */
import { performance } from 'node:perf_hooks';
import Discover from '../shims/node-discover/index.js';
import Democracy from '../shims/democracy/index.js';
import { startAzurite, type AzuriteInstance } from '../src/dev/index.js';
import { connectStorage, type StorageConnection } from '../src/storage/index.js';
import { millis, printTable, quantile } from './support/report.js';
import { runBench } from './support/run-bench.js';

const MESSAGES = 40;
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

async function measure(
  send: (seq: number) => void,
  onReceive: (handler: (seq: number) => void) => void,
): Promise<number[]> {
  const sentAt = new Map<number, number>();
  const samples: number[] = [];
  onReceive((seq) => {
    const t = sentAt.get(seq);
    if (t !== undefined) samples.push(performance.now() - t);
  });
  for (let seq = 0; seq < MESSAGES; seq++) {
    sentAt.set(seq, performance.now());
    send(seq);
    // Spread sends over the poll cycle so the figures cover every phase of it.
    await sleep(150 + Math.random() * 200);
  }
  const deadline = performance.now() + 10_000;
  while (samples.length < MESSAGES && performance.now() < deadline) await sleep(50);
  return samples;
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
    `Shim channel latency, default bus settings (poll 1 s); anchor: one table upsert, median ${millis(anchor)}`,
    ['path', 'received', 'p50', 'p95', 'p99', 'p50 / anchor'],
    [
      row('node-discover send → join handler', discover, anchor),
      row('democracy publish → subscriber', democracy, anchor),
    ],
  );
  const p99 = Math.max(quantile(discover, 0.99), quantile(democracy, 0.99));
  process.stdout.write(`\ntwice the worse p99: ${millis(2 * p99)}\n`);
}

async function cleanup(): Promise<void> {
  await Promise.allSettled(stoppers.map((stop) => stop()));
  await azurite?.stop();
}

await runBench('bench/shim-channel-latency', 120_000, main, cleanup);
