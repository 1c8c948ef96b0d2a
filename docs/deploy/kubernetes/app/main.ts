// The application side of the Kubernetes example (deployment.yaml): one gossipless cluster node per
// pod, signed in with workload identity, leaving gracefully on SIGTERM so a rollout hands the lease
// over within one bus poll instead of waiting out the lease. Type-checked against the package by
// test/deploy/kubernetes-manifests.test.ts.
import { createServer } from 'node:http';
import { connectStorage, createCluster, handleShutdownSignals, lineLogger } from '@gossipless/runtime';

const accountName = process.env.AZURE_STORAGE_ACCOUNT;
const clusterName = process.env.GOSSIPLESS_CLUSTER;
if (!accountName || !clusterName) {
  throw new Error('set AZURE_STORAGE_ACCOUNT and GOSSIPLESS_CLUSTER (see deployment.yaml)');
}

// DefaultAzureCredential picks up the token the workload identity webhook mounts in the pod.
const storage = connectStorage({ accountName });

const cluster = createCluster({
  cluster: clusterName,
  storage,
  metadata: { address: `${process.env.POD_IP ?? '127.0.0.1'}:${process.env.PORT ?? '8080'}` },
  logger: lineLogger((line) => process.stderr.write(line)),
});

cluster.on('elected', ({ epoch }) => console.error(`leading, epoch ${epoch}`));
cluster.on('demoted', ({ epoch, reason }) => console.error(`no longer leading epoch ${epoch}: ${reason}`));
cluster.on('error', ({ source, error }) => console.error(`${source}: ${error.code} ${error.message}`));

// Runs on the leader only, once per minute of the storage server's clock, never twice for a tick.
cluster.singleton('retention-sweep', { everyMs: 60_000 }, async ({ signal, epoch }) => {
  await deleteExpiredLoginAttempts({ signal, fencingToken: epoch });
});

let ready = false;
const server = createServer((req, res) => {
  if (req.url === '/ready') {
    res.writeHead(ready ? 200 : 503).end(ready ? 'ready\n' : 'starting\n');
    return;
  }
  res.writeHead(404).end();
});

await cluster.start();
server.listen(Number(process.env.PORT ?? 8080), () => {
  ready = true;
});

// SIGTERM (rollout, scale-in, node drain): stop taking traffic, then abort the leader's jobs, wait
// for them, release the lease, announce it and delete the member row; then the signal is re-raised.
handleShutdownSignals(cluster, {
  onStopped: () => server.close(),
  onError: (error) =>
    console.error('graceful stop failed; followers take over when the lease expires', error),
});
process.once('SIGTERM', () => {
  ready = false;
});

/** Stand-in for the real job: stop at once when `signal` aborts, and stamp writes with the token. */
async function deleteExpiredLoginAttempts(options: {
  signal: AbortSignal;
  fencingToken: number;
}): Promise<void> {
  options.signal.throwIfAborted();
}
