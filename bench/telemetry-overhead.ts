/**
 * bench/telemetry-overhead: what the OpenTelemetry hooks cost with no SDK registered (the default),
 * per bus message, against an anchor measured in the same run: the CPU work every delivered message
 * already does in-process (serialise the payload, parse and validate the row: parseBusRow). A
 * delivery also makes storage round trips (≈ 400 µs per event at bench:bus's 2,500 events/s), so
 * the ratio here is an upper bound on the share of bus throughput the hooks can take.
 *
 * The limiter's decision path (CrdtRateLimiter.consume) calls no telemetry hook at all (it reads
 * the server-time estimate and the member count only), so bench:limiter's decisions/s is unchanged
 * by construction.
 *
 * Run: npm run bench:telemetry  (node --import tsx bench/telemetry-overhead.ts; a few seconds)
 */
import { messageRowKey, parseBusRow } from '../src/bus/bus-message.js';
import { channelPartition } from '../src/table-layout/index.js';
import { busTelemetry, leaseTelemetry, singletonTelemetry } from '../src/telemetry/index.js';

const N = Number(process.env.BENCH_N ?? 200_000);
const ROUNDS = 5;

function nsPerOp(label: string, op: (i: number) => void): { label: string; ns: number } {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) op(i);
    samples.push(Number(process.hrtime.bigint() - start) / N);
  }
  samples.sort((a, b) => a - b);
  return { label, ns: samples[Math.floor(samples.length / 2)]! };
}

const identity = { cluster: 'bench', nodeId: 'bench-node' };
const stats = { published: 0, delivered: 0, malformed: 0, handlerErrors: 0, pollErrors: 0 };
const bus = busTelemetry({ ...identity, stats, consumerLagMs: () => 0, queuedForPublish: () => 0 });
const lease = leaseTelemetry({
  ...identity,
  isLeader: () => true,
  knownLeaderEpoch: () => 1,
  renewalAgeMs: () => 0,
  stepDownAfterMs: 13_000,
});
const singleton = singletonTelemetry(identity);

const payload = { order: 12345, items: ['a', 'b', 'c'], total: 99.5, customer: 'c-000042' };
const row = {
  partitionKey: channelPartition('bench', 'orders'),
  rowKey: messageRowKey(Date.now(), 'bench-node', 1),
  channel: 'orders',
  nodeId: 'bench-node',
  seq: 1,
  payload: JSON.stringify(payload),
};
const message = { channel: 'orders', id: row.rowKey, from: 'bench-node', publishedAt: Date.now() - 500 };
let sink = 0;

const anchor = nsPerOp('anchor: serialise + parse and validate one row (parseBusRow)', () => {
  const json = JSON.stringify(payload);
  const parsed = parseBusRow({ ...row, payload: json });
  if ('message' in parsed) sink += parsed.message.seq;
});
const hooks = nsPerOp('bus hooks per message: publish + deliver + its end', () => {
  const trace = bus.publish('orders');
  trace?.end();
  bus.deliver(message, undefined, Date.now())(false);
});
const leaseCall = nsPerOp('lease hook per renew call', () => lease.call('renew', 'ok', 12));
const direct = nsPerOp('singleton run, direct call (no hook)', (i) => {
  sink += i & 1;
});
const signal = new AbortController().signal;
const wrapped = nsPerOp('singleton run through the hook (span + counter)', (i) => {
  void singleton.run({ name: 'job', tick: i, epoch: 1, signal }, () => {
    sink += i & 1;
  });
});

const rows = [anchor, hooks, leaseCall, direct, wrapped];
const width = Math.max(...rows.map((r) => r.label.length));
console.log(`telemetry hooks with no OpenTelemetry SDK registered (median of ${ROUNDS} × ${N} ops)\n`);
for (const r of rows) console.log(`${r.label.padEnd(width)}  ${r.ns.toFixed(1).padStart(8)} ns/op`);
console.log(
  `\nbus hooks / anchor: ${((hooks.ns / anchor.ns) * 100).toFixed(2)} % of the in-process CPU work per message` +
    ` (a bound on the share of bus throughput; storage round trips make the real share smaller)`,
);
console.log(
  `bus hooks / one event at bench:bus's 2,500 events/s (400 µs): ${((hooks.ns / 400_000) * 100).toFixed(3)} %`,
);
if (sink < 0) console.log(sink);
