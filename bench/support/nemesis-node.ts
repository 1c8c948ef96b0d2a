/**
 * One cluster node for the randomized fault run (bench/nemesis.ts). Appends its history to a JSONL
 * file, one synchronous append per event so a kill -9 loses nothing already recorded. Each line has
 * `mono` (this process's monotonic clock, for comparing with its own step-down deadlines) and `wall`
 * (the machine's real clock, shared by every process on it: the cross-node reference the checker uses).
 * Its Clock's wall time can be moved at run time (`{ clockOffsetMs }` over IPC): the skew fault.
 */
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createCluster, handleShutdownSignals } from '../../src/cluster/index.js';
import type { Clock } from '../../src/clock/index.js';
import { connectStorage } from '../../src/storage/index.js';

const env = process.env;
const nodeId = env.NODE_ID!;
const historyFile = env.HISTORY_FILE!;
const incarnation = `${nodeId}#${process.pid}`;
let clockOffsetMs = 0;
const clock: Clock = {
  monotonicNow: () => performance.now(),
  wallNow: () => Date.now() + clockOffsetMs,
};

function record(
  type: string,
  fields: Record<string, unknown> = {},
  mono = performance.now(),
  wall = Date.now(),
): void {
  appendFileSync(
    historyFile,
    JSON.stringify({ node: nodeId, incarnation, type, mono, wall, ...fields }) + '\n',
  );
}

let publishing = true;
process.on('message', (message: { clockOffsetMs?: number; stopPublishing?: boolean }) => {
  if (message.stopPublishing) {
    publishing = false;
    record('publishing-stopped');
  }
  if (typeof message.clockOffsetMs === 'number') {
    clockOffsetMs = message.clockOffsetMs;
    record('clock', { offsetMs: clockOffsetMs });
  }
});

const cluster = createCluster({
  cluster: env.CLUSTER!,
  nodeId,
  storage: connectStorage({ connectionString: env.CONNECTION_STRING! }),
  tablePrefix: 'nemesis',
  clock,
  lease: { retryIntervalMs: 500 },
  membership: { heartbeatIntervalMs: 1000, memberTtlMs: 6000 },
  bus: { pollIntervalMs: 250, consumerName: `consumer-${nodeId}` },
});
// The run aims half of its process faults at the leader: tell it who leads.
cluster.elector.on('elected', ({ epoch }) => {
  record('elected', { epoch, stepDownAt: cluster.elector.stepDownAt });
  process.send?.({ leader: true });
});
cluster.elector.on('renewed', ({ epoch, stepDownAt }) => record('renewed', { epoch, stepDownAt }));
cluster.on('demoted', ({ epoch, reason }) => {
  record('demoted', { epoch, reason });
  process.send?.({ leader: false });
});
cluster.on('fenced', (e) => record('fenced', e));
cluster.on('epoch-floor', (e) => record('epoch-floor', e));
cluster.singleton('sweep', { everyMs: Number(env.EVERY_MS ?? '500') }, async (ctx) => {
  record('job-start', { tick: ctx.tick, epoch: ctx.epoch });
  // Some work that honours its signal, then a commit only while still leader of this term.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 20 + Math.random() * 60);
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const mono = performance.now();
  const wall = Date.now();
  if (ctx.isLeader()) record('job-commit', { tick: ctx.tick, epoch: ctx.epoch }, mono, wall);
  record('job-end', { tick: ctx.tick, epoch: ctx.epoch, aborted: ctx.signal.aborted });
});
cluster.subscribe<{ seq: number }>('events', (message) => {
  // keyTime: the row key's time of the copy delivered (a retried publish stores copies under later keys).
  record('delivered', { id: message.id, from: message.from, seq: message.seq, keyTime: message.publishedAt });
});
handleShutdownSignals(cluster, { onStopped: () => record('stopped') });
await cluster.start();
record('ready');

// Publish a message every ~300 ms; record the ones the bus acknowledged.
let published = 0;
const publishLoop = async (): Promise<void> => {
  while (publishing) {
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 200));
    if (!publishing) break;
    const seq = ++published;
    const sentWall = Date.now();
    try {
      const id = await cluster.publish('events', { seq });
      record('published', { id, seq, sentWall });
    } catch (error) {
      record('publish-failed', { seq, code: (error as { code?: string }).code });
    }
  }
};
void publishLoop();
