import { createServer } from 'node:http';
import { startDiscovery } from './cluster/discovery.js';
import { runRetentionSweep } from './jobs/retention-sweep.js';
import { runWebhookPass } from './jobs/webhook-pass.js';
import { GCounterRateLimiter } from './limits/gcounter-rate-limiter.js';
import { event, log } from './log.js';

const replicaId = process.env.REPLICA_ID ?? `replica-${process.pid}`;
const SWEEP_EVERY_MS = Number(process.env.SWEEP_EVERY_MS ?? 2000);
const DISCOVERY_PORT = Number(process.env.DISCOVERY_PORT ?? 44201);

const LOGIN_LIMIT = 100;
const loginLimiter = new GCounterRateLimiter({ limit: LOGIN_LIMIT, windowMs: 60_000, keyPrefix: 'login' });

const cluster = startDiscovery(replicaId, DISCOVERY_PORT);
cluster.onJobEvent((e) => log.debug(`peer job event ${JSON.stringify(e)}`));

// Master-only work, once per tick of the wall clock: every replica wakes just after the same tick
// boundary, so a tick is never skipped or run twice by timer drift.
let timer: ReturnType<typeof setTimeout> | undefined;
function scheduleNextTick(): void {
  timer = setTimeout(
    () => {
      scheduleNextTick();
      if (!cluster.isMaster()) return;
      const tick = Math.floor(Date.now() / SWEEP_EVERY_MS);
      void runRetentionSweep(replicaId, tick);
      void runWebhookPass(replicaId, tick);
      cluster.announce({ job: 'sweep', tick, replicaId });
    },
    SWEEP_EVERY_MS - (Date.now() % SWEEP_EVERY_MS) + 5,
  );
}
scheduleNextTick();

const server = createServer((req, res) => {
  if (req.url === '/login') {
    const client = req.socket.remoteAddress ?? 'unknown';
    if (!loginLimiter.tryConsume(client)) {
      res.writeHead(429).end('slow down\n');
      return;
    }
    res.writeHead(200).end('ok\n');
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => event('ready', { replicaId }));

function shutdown(): void {
  clearTimeout(timer);
  cluster.stop();
  server.close();
  // Give in-flight requests a second, then go.
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
