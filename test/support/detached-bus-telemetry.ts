import { busTelemetry, type BusTelemetry } from '../../src/telemetry/index.js';

/**
 * The bus hooks of a node that has no bus behind them (zero counts, no lag, nothing queued): what
 * the tests and benches that time or count one message's hooks call them on.
 */
export function detachedBusTelemetry(nodeId: string): BusTelemetry {
  const stats = { published: 0, delivered: 0, malformed: 0, handlerErrors: 0, pollErrors: 0 };
  return busTelemetry({
    cluster: 'detached',
    nodeId,
    stats,
    consumerLagMs: () => 0,
    queuedForPublish: () => 0,
  });
}
