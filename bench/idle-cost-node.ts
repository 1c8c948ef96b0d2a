/**
 * One node for bench/idle-cost.ts, in its own process (run as an esbuild bundle for a fast start).
 * `MODE=core`: a cluster at the runtime's defaults (createCluster) with one singleton every 60 s and
 * one subscribed channel, as an idle service would run it. `MODE=node-discover`: the node-discover
 * shim at its defaults. Prints one JSON line per event (`ready`, `elected`, `demoted`, `stopping`,
 * `stopped`, `error`) stamped with the shared wall clock; answers IPC `reset` and `counts` with its
 * own transaction counter. SIGTERM stops it gracefully (release + bus announcement).
 */
import { createCluster, type Cluster } from '../src/cluster/index.js';
import { connectStorage } from '../src/storage/index.js';
import Discover from '../shims/node-discover/index.js';

const nodeId = process.env.NODE_ID!;
const mode = process.env.MODE ?? 'core';

function record(type: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ t: Date.now(), node: nodeId, type, ...fields }) + '\n');
}

const storage = connectStorage({ connectionString: process.env.CONNECTION_STRING! });
let cluster: Cluster;
let stop: () => Promise<void>;
if (mode === 'node-discover') {
  // The shim's defaults: hello (heartbeat) every 1 s, check every 2 s, node timeout 2 s.
  const discover = new Discover({ gossipless: { cluster: process.env.CLUSTER!, storage, nodeId } });
  cluster = discover.cluster;
  stop = async () => {
    await (discover.stop() || undefined);
  };
} else {
  // No timing options: the bench measures the runtime's defaults.
  cluster = createCluster({ cluster: process.env.CLUSTER!, nodeId, storage });
  cluster.singleton('idle-sweep', { everyMs: 60_000 }, () => undefined);
  cluster.subscribe('orders', () => undefined);
  stop = () => cluster.stop();
}
cluster.on('elected', (e) => record('elected', e));
cluster.on('demoted', (e) => record('demoted', e));
cluster.on('error', (e) => record('error', { source: e.source, code: e.error.code }));
process.on('message', (message: { type: string }) => {
  if (message.type === 'reset') storage.transactions!.reset();
  if (message.type === 'counts') process.send!({ type: 'counts', counts: storage.transactions!.counts() });
});
process.on('SIGTERM', () => {
  record('stopping');
  void stop().then(() => {
    record('stopped');
    process.exit(0);
  });
});
if (mode !== 'node-discover') await cluster.start();
record('ready');
