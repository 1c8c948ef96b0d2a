/**
 * One node-discover shim node in its own process, for the failover fault test. Prints one JSON
 * line per leadership fact on stdout; stops gracefully on SIGTERM.
 */
import Discover from '../../shims/node-discover/index.js';

const [cluster, name, connectionString] = process.argv.slice(2);
if (!cluster || !name || !connectionString) {
  process.stderr.write('usage: discover-worker <cluster> <name> <connection string>\n');
  process.exit(2);
}

function log(event: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, name, t: Date.now(), ...extra })}\n`);
}

const d = Discover({
  helloInterval: 250,
  checkInterval: 250,
  nodeTimeout: 1500,
  gossipless: {
    cluster,
    nodeId: name,
    storage: { connectionString },
    tablePrefix: 'faults',
    lease: { retryIntervalMs: 300 },
    bus: { pollIntervalMs: 100, lookbackMs: 3000 },
  },
});
d.on('promotion', () => log('promotion', { epoch: d.cluster.epoch }));
d.on('demotion', () => log('demotion'));
// The true end of leadership, also on stop (node-discover emits no demotion then).
d.cluster.on('demoted', ({ epoch, reason }) => log('demoted', { epoch, reason }));
d.on('master', (node: { id: string }) => log('master', { holder: node.id }));
d.on('started', () => log('started'));
d.on('error', () => undefined);
process.on('SIGTERM', () => {
  void (async () => {
    await d.stop();
    log('stopped');
    process.exit(0);
  })();
});
