/**
 * One cluster node in its own process, for fault tests. Prints one JSON line per event to stdout,
 * stamped with the real wall clock of this machine (shared by every process of the test), so the
 * harness can check the history. Configured by environment variables.
 */
import { createCluster, handleShutdownSignals } from '../../src/cluster/index.js';
import { skewedClock, systemClock } from '../../src/clock/index.js';
import { connectStorage } from '../../src/storage/index.js';

const env = process.env;
const nodeId = env.NODE_ID!;
const clockOffsetMs = Number(env.CLOCK_OFFSET_MS ?? '0');
const everyMs = Number(env.EVERY_MS ?? '500');

function record(type: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ t: Date.now(), node: nodeId, type, ...fields }) + '\n');
}

const cluster = createCluster({
  cluster: env.CLUSTER!,
  nodeId,
  storage: connectStorage({ connectionString: env.CONNECTION_STRING! }),
  tablePrefix: 'faults',
  clock: clockOffsetMs ? skewedClock(clockOffsetMs) : systemClock,
  lease: { retryIntervalMs: 300 },
  membership: { heartbeatIntervalMs: 500, memberTtlMs: 3000 },
  bus: { pollIntervalMs: 100, lookbackMs: 3000 },
});
cluster.on('elected', (e) => record('elected', e));
cluster.on('demoted', (e) => record('demoted', e));
cluster.on('error', (e) =>
  record('error', { source: e.source, code: e.error.code, message: e.error.message }),
);
cluster.singleton('sweep', { everyMs }, async ({ signal, tick, epoch }) => {
  record('job-start', { tick, epoch });
  await new Promise((r) => setTimeout(r, 10));
  record('job-end', { tick, epoch, aborted: signal.aborted });
});
handleShutdownSignals(cluster, { onStopped: (signal) => record('stopped', { reason: signal }) });
await cluster.start();
record('ready');
