// One gossipless cluster node with OpenTelemetry metrics scraped by Prometheus, and health probes.
//
//   AZURE_STORAGE_CONNECTION_STRING=… GOSSIPLESS_CLUSTER=orders METRICS_PORT=9464 HEALTH_PORT=8081 \
//     node --import tsx examples/observability/node.ts
//
// Then: curl localhost:9464/metrics (Prometheus text), curl localhost:8081/readyz, /livez.
// In your service import from '@gossipless/runtime' instead of the source tree.
import { createServer } from 'node:http';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createCluster, handleShutdownSignals } from '../../src/index.js';

// 1. Register the SDK first: the library takes its meter when the cluster is created.
const exporter = new PrometheusExporter({ port: Number(process.env.METRICS_PORT ?? 9464) });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));

// 2. The cluster node, as usual (storage from AZURE_STORAGE_CONNECTION_STRING).
const clusterName = process.env.GOSSIPLESS_CLUSTER;
if (!clusterName) throw new Error('set GOSSIPLESS_CLUSTER (and AZURE_STORAGE_CONNECTION_STRING)');
const cluster = createCluster({ cluster: clusterName, nodeId: process.env.NODE_ID });
cluster.singleton('heartbeat-job', { everyMs: 5_000 }, () => undefined);

// 3. Kubernetes probes: readinessProbe → /readyz, livenessProbe → /livez.
const health = createServer((req, res) => {
  const state = cluster.health();
  const ok = req.url === '/livez' ? state.live : req.url === '/readyz' ? state.ready : undefined;
  if (ok === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${state.reason}\n`);
});
health.listen(Number(process.env.HEALTH_PORT ?? 8081));

await cluster.start();
console.log(JSON.stringify({ type: 'started', node: cluster.nodeId }));
handleShutdownSignals(cluster, {
  onStopped: () => {
    health.close();
    void exporter.shutdown();
  },
});
