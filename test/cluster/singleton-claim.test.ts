import { beforeAll, describe, expect, it } from 'vitest';
import { claimTick, type Cluster } from '../../src/cluster/index.js';
import type { StorageConnection } from '../../src/storage/index.js';
import { claimPartition } from '../../src/table-layout/index.js';
import { testCluster } from '../helpers/cluster.js';
import { stoppedAfterEach } from '../helpers/stopped-after-each.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';

const TABLE = 'claimtestbus';
let storage: StorageConnection;
beforeAll(async () => {
  storage = testStorage();
  await storage.createTableIfNotExists(TABLE);
});

/** Tick-claim transactions the connection sent while `work` ran. */
async function claimCalls(work: () => Promise<unknown>): Promise<number> {
  const before = storage.transactions!.counts().byKind['tick-claim'].requests;
  await work();
  return storage.transactions!.counts().byKind['tick-claim'].requests - before;
}

describe('claimTick with the row this node last wrote', () => {
  const signal = new AbortController().signal;

  it('claims a later tick with one conditional write while the row is still as it wrote it', async () => {
    const table = storage.tableClient(TABLE);
    const where = { cluster: uniqueName('c'), name: 'sweep', nodeId: 'n1' };
    const first = await claimTick(table, where, 1, 1, 3000, signal);
    expect(first).toMatchObject({ outcome: 'claimed', written: { tick: 1, epoch: 1 } });
    let previous = first.written;
    for (const tick of [2, 3, 4]) {
      let result;
      expect(
        await claimCalls(
          async () => (result = await claimTick(table, where, tick, 1, 3000, signal, previous)),
        ),
      ).toBe(1);
      expect(result).toMatchObject({ outcome: 'claimed', written: { tick, epoch: 1 } });
      previous = result!.written;
    }
    expect(await table.getEntity(claimPartition(where.cluster), 'sweep')).toMatchObject({
      tick: 4,
      epoch: 1,
    });
  });

  it('still fences off a lower epoch when another writer changed the row since', async () => {
    const table = storage.tableClient(TABLE);
    const where = { cluster: uniqueName('c'), name: 'sweep', nodeId: 'n1' };
    const { written } = await claimTick(table, where, 1, 1, 3000, signal);
    await table.upsertEntity(
      { partitionKey: claimPartition(where.cluster), rowKey: 'sweep', tick: 1, epoch: 7, nodeId: 'n2' },
      'Replace',
    );
    expect(await claimTick(table, where, 2, 1, 3000, signal, written)).toEqual({
      outcome: 'fenced',
      claimEpoch: 7,
    });
  });

  it('still reports a tick another leader already ran, and claims again once the row is gone', async () => {
    const table = storage.tableClient(TABLE);
    const where = { cluster: uniqueName('c'), name: 'sweep', nodeId: 'n1' };
    const { written } = await claimTick(table, where, 1, 1, 3000, signal);
    const other = await claimTick(table, { ...where, nodeId: 'n2' }, 5, 2, 3000, signal);
    expect(other.outcome).toBe('claimed');
    expect(await claimTick(table, where, 5, 2, 3000, signal, written)).toEqual({ outcome: 'already-run' });
    await table.deleteEntity(claimPartition(where.cluster), 'sweep');
    expect(await claimTick(table, where, 6, 2, 3000, signal, other.written)).toMatchObject({
      outcome: 'claimed',
    });
  });
});

describe('Cluster singleton claims', () => {
  const nodes = stoppedAfterEach<Cluster>();

  it('the leader spends one transaction per tick on its claim (a read as well only on its first)', async () => {
    const node = testCluster({ cluster: uniqueName('k'), nodeId: 'a' });
    nodes.push(node);
    let runs = 0;
    node.singleton('sweep', { everyMs: 200 }, () => {
      runs++;
    });
    await node.start();
    await waitFor(() => runs >= 8, 15_000, 'eight runs');
    await node.stop({ immediate: true });
    const claims = node.transactions()!.byKind['tick-claim'].requests;
    // Every claim here succeeds (one node): a read and an insert for the first, then one write
    // each (the read-then-write claim was 2 per run). Room for a claim sent as the node stopped.
    expect(claims).toBeGreaterThanOrEqual(runs + 1);
    expect(claims).toBeLessThanOrEqual(runs + 3);
  }, 30_000);
});
