import { afterEach, describe, expect, inject, it } from 'vitest';
import type { TransactionAction } from '@azure/data-tables';
import { messageRowKey, TableBus } from '../../src/bus/index.js';
import { azuriteConnectionString } from '../../src/dev/index.js';
import { connectStorage } from '../../src/storage/index.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TABLE_PREFIX = 'backlogtest';
const table = () => testStorage().tableClient(`${TABLE_PREFIX}bus`);

async function tableProxy(): Promise<{ proxy: FaultProxy; storage: ReturnType<typeof connectStorage> }> {
  const url = new URL(inject('azuriteTableEndpoint'));
  const proxy = new FaultProxy(url.hostname, Number(url.port));
  await proxy.listen();
  cleanups.push(() => proxy.close());
  const storage = connectStorage({
    connectionString: azuriteConnectionString(
      inject('azuriteBlobEndpoint'),
      `http://127.0.0.1:${proxy.port}/devstoreaccount1`,
    ),
  });
  return { proxy, storage };
}

describe('TableBus reading a large backlog', () => {
  it('makes progress page by page through storage that cuts every connection every 2.5 s', async () => {
    const cluster = uniqueName('p');
    const rows = 6000;
    const base = Date.now() - 30_000;
    const actions: TransactionAction[][] = [];
    for (let i = 0; i < rows; i += 100) {
      actions.push(
        [...Array(100).keys()].map((k) => [
          'create',
          {
            partitionKey: `c:${cluster}:backlog`,
            rowKey: messageRowKey(base + (i + k) * 2, 'bulk', i + k + 1),
            channel: 'backlog',
            nodeId: 'bulk',
            seq: i + k + 1,
            payload: JSON.stringify({ i: i + k }),
          },
        ]),
      );
    }
    await testStorage().createTableIfNotExists(`${TABLE_PREFIX}bus`);
    for (let i = 0; i < actions.length; i += 10) {
      await Promise.all(actions.slice(i, i + 10).map((a) => table().submitTransaction(a)));
    }
    const { proxy, storage } = await tableProxy();
    // Each page costs at least two 300 ms hops: six pages never fit between two cuts, one does.
    proxy.setMode({ kind: 'latency', ms: 300 });
    const cutter = setInterval(() => {
      proxy.setMode({ kind: 'drop' });
      setTimeout(() => proxy.setMode({ kind: 'latency', ms: 300 }), 100);
    }, 2500);
    cleanups.push(async () => clearInterval(cutter));
    const consumer = new TableBus({
      storage,
      cluster,
      nodeId: 'consumer',
      tablePrefix: TABLE_PREFIX,
      pollIntervalMs: 100,
      lookbackMs: 60_000,
      callTimeoutMs: 2000,
    });
    cleanups.push(() => consumer.stop());
    const seen = new Set<number>();
    consumer.subscribe<{ i: number }>('backlog', (m) => void seen.add(m.payload.i));
    await consumer.start();
    await waitFor(() => seen.size >= rows, 60_000, `all ${rows} messages`);
    expect(consumer.stats.delivered).toBe(rows);
    expect(consumer.stats.pollErrors).toBeGreaterThan(0); // the cuts did interrupt reads
  });
});
