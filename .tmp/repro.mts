import { startAzurite, azuriteConnectionString } from '/work/wt/lease/src/dev/index.js';
import { createCluster } from '/work/wt/lease/src/cluster/index.js';
import { connectStorage } from '/work/wt/lease/src/storage/index.js';
const az = await startAzurite();
const cs = az.connectionString ?? azuriteConnectionString(`http://127.0.0.1:${az.blobPort}/devstoreaccount1`, `http://127.0.0.1:${az.tablePort}/devstoreaccount1`);
const t0 = Date.now();
const nodes = ['a','b','c'].map((nodeId) => {
  const c = createCluster({ cluster: 'repro', nodeId, storage: connectStorage({ connectionString: cs }), tablePrefix: 'faults',
    lease: { retryIntervalMs: 300 }, membership: { heartbeatIntervalMs: 500, memberTtlMs: 3000 }, bus: { pollIntervalMs: 100, lookbackMs: 3000 },
    logger: { debug: () => {}, info: (m) => console.log(nodeId, 'info', m), warn: (m) => console.log(nodeId, 'warn', m), error: (m) => console.log(nodeId, 'error', m) } });
  c.on('elected', (e) => console.log(Date.now() - t0, nodeId, 'elected', e));
  c.on('error', (e) => console.log(Date.now() - t0, nodeId, 'error', e.source, e.error.message));
  c.singleton('sweep', { everyMs: 500 }, async () => {});
  return c;
});
await Promise.all(nodes.map((n) => n.start()));
console.log(Date.now() - t0, 'started');
await new Promise((r) => setTimeout(r, 8000));
console.log('leaders', nodes.map((n) => n.isLeader));
await Promise.all(nodes.map((n) => n.stop({ immediate: true })));
await az.stop();
process.exit(0);
