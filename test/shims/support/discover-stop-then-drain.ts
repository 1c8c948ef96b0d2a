// A node-discover service's shutdown without awaiting anything: stop() on promotion, then the event
// loop is left to drain. The shim must keep the process alive until the lease release has landed.
import Discover from '../../../shims/node-discover/index.js';

const d = new Discover({
  helloInterval: 250,
  checkInterval: 250,
  nodeTimeout: 1500,
  gossipless: { tablePrefix: 'shimtest', lease: { retryIntervalMs: 300 } },
});
d.on('promotion', () => {
  let stoppedAt: number | undefined;
  d.once('stopped', () => (stoppedAt = Date.now()));
  d.stop();
  // node-discover emits `stopped` inside stop(): code that logs it right after must see it.
  process.stdout.write(`${JSON.stringify({ type: 'stopped', sync: stoppedAt !== undefined })}\n`);
});
