/**
 * One cluster node for bench/failover.ts, in its own process, at the default timings. Prints one
 * JSON line per event (`ready`, `elected`, `demoted`, `stopped`) stamped with this machine's wall
 * clock, which the parent shares. SIGTERM stops the node gracefully (handover on the renewal grid, release + bus announcement).
 */
import { createCluster } from '../src/cluster/index.js';
import { connectStorage } from '../src/storage/index.js';

const nodeId = process.env.NODE_ID!;

function record(type: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ t: Date.now(), node: nodeId, type, ...fields }) + '\n');
}

// No timing options: the bench measures the defaults (L 15 s, renew 7.5 s on a fixed grid, margin
// 2 s; membership and bus at their defaults).
const cluster = createCluster({
  cluster: process.env.CLUSTER!,
  nodeId,
  storage: connectStorage({ connectionString: process.env.CONNECTION_STRING! }),
  tablePrefix: 'bench',
});
cluster.on('elected', (e) => record('elected', e));
cluster.on('demoted', (e) => record('demoted', e));
cluster.on('error', (e) => record('error', { source: e.source, code: e.error.code }));
process.on('SIGTERM', () => {
  record('stopping');
  void cluster.stop().then(() => {
    record('stopped');
    process.exit(0);
  });
});
await cluster.start();
record('ready');
