import { afterEach, describe, expect, inject, it } from 'vitest';
import { TableBus, type BusMessage } from '../../src/bus/index.js';
import { azuriteConnectionString } from '../../src/dev/index.js';
import { connectStorage } from '../../src/storage/index.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';
import { HoldingProxy } from '../support/holding-proxy.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// The measured brownout (issue 19), scaled to a 4 s look-back: the publisher's requests reach
// Azurite through a proxy that holds 35 % of them for 0.75–1.75 look-backs (6–15 s against 10 s)
// and then forwards them anyway; the call deadline is half the look-back (5 s against 10 s).
const LOOKBACK_MS = 4000;
const CALL_TIMEOUT_MS = 2000;
const EVENTS = 100;
const EVERY_MS = 250;

describe('TableBus publishing through a proxy that holds requests past their deadline', () => {
  it('every acknowledged event reaches both durable subscribers, once each, in publish order', async () => {
    const cluster = uniqueName('held');
    const tableUrl = new URL(inject('azuriteTableEndpoint'));
    const proxy = new HoldingProxy({
      targetHost: tableUrl.hostname,
      targetPort: Number(tableUrl.port),
      holdProbability: 0,
      holdMinMs: 3000,
      holdMaxMs: 7000,
    });
    await proxy.listen();
    cleanups.push(() => proxy.close());
    const common = { cluster, tablePrefix: 'heldtest', lookbackMs: LOOKBACK_MS, pollIntervalMs: 100 };
    const publisher = new TableBus({
      ...common,
      storage: connectStorage({
        connectionString: azuriteConnectionString(
          inject('azuriteBlobEndpoint'),
          `http://127.0.0.1:${proxy.port}/devstoreaccount1`,
        ),
      }),
      nodeId: 'publisher',
      callTimeoutMs: CALL_TIMEOUT_MS,
    });
    cleanups.push(() => publisher.stop());
    const received = new Map<string, BusMessage[]>();
    for (const name of ['sub-a', 'sub-b']) {
      const subscriber = new TableBus({
        ...common,
        storage: testStorage(),
        nodeId: name,
        consumerName: name,
      });
      const mine: BusMessage[] = [];
      received.set(name, mine);
      subscriber.subscribe('events', (m) => void mine.push(m));
      await subscriber.start();
      cleanups.push(() => subscriber.stop());
    }
    // The first publish learns the server clock and creates the table: let it through.
    const acknowledged: Array<{ i: number; id: string }> = [];
    acknowledged.push({ i: -1, id: await publisher.publish('events', { i: -1 }) });
    proxy.holdProbability = 0.35;
    const publishes: Array<Promise<void>> = [];
    for (let i = 0; i < EVENTS; i++) {
      publishes.push(
        publisher.publish('events', { i }).then(
          (id) => void acknowledged.push({ i, id }),
          () => undefined, // not acknowledged: it may or may not arrive, and is not checked
        ),
      );
      await new Promise((r) => setTimeout(r, EVERY_MS));
    }
    await Promise.all(publishes);
    proxy.holdProbability = 0;
    const ackedIds = new Set(acknowledged.map((a) => a.id));
    const hasAll = (name: string) => {
      const ids = new Set(received.get(name)!.map((m) => m.id));
      return [...ackedIds].every((id) => ids.has(id));
    };
    // Every acknowledged row is committed within half a look-back of its key: a few polls suffice.
    await waitFor(() => hasAll('sub-a') && hasAll('sub-b'), 20_000, 'every acknowledged event at both').catch(
      () => undefined,
    );
    const acknowledgedInOrder = acknowledged.map((a) => a.i).sort((x, y) => x - y);
    expect(proxy.stats.held).toBeGreaterThan(10);
    // The fault must actually bite: some requests were forwarded after the client gave up.
    expect(proxy.stats.forwardedAfterClientLeft).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(EVENTS / 2);
    for (const [name, messages] of received) {
      const missing = acknowledged.filter((a) => !messages.some((m) => m.id === a.id)).map((a) => a.i);
      expect(missing, `${name} lost acknowledged events`).toEqual([]);
      // Deduplicated by id: a retried publish's second row is not delivered again.
      expect(new Set(messages.map((m) => m.id)).size, `${name} got duplicates`).toBe(messages.length);
      const order = messages.filter((m) => ackedIds.has(m.id)).map((m) => (m.payload as { i: number }).i);
      expect(order, `${name} order`).toEqual(acknowledgedInOrder);
    }
  });
});
