import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TableBus } from '../../src/bus/index.js';
import { claimTick, highestClaimedEpoch } from '../../src/cluster/index.js';
import { Membership } from '../../src/membership/index.js';
import {
  classifyStorageRequest,
  connectStorage,
  StorageTransactionCounter,
  type StorageConnection,
  type StorageTransactionKind,
} from '../../src/storage/index.js';
import { channelPartition, channelPartitionsFilter, odataString } from '../../src/table-layout/index.js';
import { testStorage, uniqueName } from '../helpers/storage.js';

/** What the counter added, by kind, while `work` ran. */
async function countedDuring(
  storage: StorageConnection,
  work: () => Promise<unknown>,
): Promise<Partial<Record<StorageTransactionKind, number>>> {
  const before = storage.transactions!.counts().byKind;
  await work();
  const after = storage.transactions!.counts().byKind;
  const added: Partial<Record<StorageTransactionKind, number>> = {};
  for (const [kind, counts] of Object.entries(after)) {
    const n = counts.requests - before[kind as StorageTransactionKind].requests;
    if (n > 0) added[kind as StorageTransactionKind] = n;
  }
  return added;
}

describe('storage transactions counted by kind at the HTTP pipeline (Azurite)', () => {
  const cluster = uniqueName('tx');
  const prefix = 'txcount';
  const table = `${prefix}bus`;
  let storage: StorageConnection;

  beforeAll(async () => {
    storage = testStorage();
    await storage.createTableIfNotExists(table);
  });

  it('counts table creation as setup and the real membership calls as membership', async () => {
    const fresh = testStorage();
    expect(await countedDuring(fresh, () => fresh.createTableIfNotExists(uniqueName('setup')))).toEqual({
      setup: 1,
    });
    const membership = new Membership({ storage, cluster, nodeId: 'm1', tablePrefix: prefix });
    expect(await countedDuring(storage, () => membership.refresh())).toEqual({ membership: 1 });
  });

  it('tells publishes, polls and retention queries and deletes apart on the bus table', async () => {
    const bus = new TableBus({ storage, cluster, nodeId: 'b1', tablePrefix: prefix });
    // A publish stores the row; the bus's first call also creates the table (setup) and probes the
    // server's time on the cursor partition.
    const first = await countedDuring(storage, () => bus.publish('orders', { n: 1 }));
    expect(first.publish).toBe(1);
    expect(Object.keys(first).filter((k) => !['publish', 'cursor', 'setup'].includes(k))).toEqual([]);
    // Two messages published together go in one entity-group transaction ($batch).
    const batch = await countedDuring(storage, () =>
      Promise.all([bus.publish('orders', { n: 2 }), bus.publish('orders', { n: 3 })]),
    );
    expect(batch).toEqual({ publish: expect.any(Number) });
    const tableClient = storage.tableClient(table);
    const poll = await countedDuring(storage, async () => {
      for await (const row of tableClient.listEntities({
        queryOptions: {
          filter: `(PartitionKey eq ${odataString(channelPartition(cluster, 'orders'))}) and RowKey ge '0'`,
        },
      })) {
        void row;
      }
    });
    expect(poll).toEqual({ 'bus-poll': 1 });
    const keys: Array<{ partitionKey: string; rowKey: string }> = [];
    const retentionQuery = await countedDuring(storage, async () => {
      for await (const row of tableClient.listEntities<{ partitionKey: string; rowKey: string }>({
        queryOptions: { filter: `${channelPartitionsFilter(cluster)} and RowKey lt '~'` },
      })) {
        keys.push({ partitionKey: row.partitionKey, rowKey: row.rowKey });
      }
    });
    expect(retentionQuery).toEqual({ retention: 1 });
    expect(keys.length).toBe(3);
    const deletes = await countedDuring(storage, () =>
      tableClient.submitTransaction(keys.map((k) => ['delete', k])),
    );
    expect(deletes).toEqual({ retention: 1 });
    await bus.stop();
  });

  it('counts singleton tick claims as tick-claim and the epoch-floor query as lease', async () => {
    const tableClient = storage.tableClient(table);
    const signal = new AbortController().signal;
    const where = { cluster, name: 'sweep', nodeId: 'n1' };
    // First claim: a read (404) and an insert; a later tick: a read and a conditional update.
    expect(await countedDuring(storage, () => claimTick(tableClient, where, 1, 1, 3000, signal))).toEqual({
      'tick-claim': 2,
    });
    expect(await countedDuring(storage, () => claimTick(tableClient, where, 2, 1, 3000, signal))).toEqual({
      'tick-claim': 2,
    });
    expect(await countedDuring(storage, () => highestClaimedEpoch(tableClient, cluster))).toEqual({
      lease: 1,
    });
  });

  it('counts every blob call as lease, container and blob creation as setup, billed as Azure bills them', async () => {
    const fresh = testStorage();
    const container = uniqueName('txc');
    const blob = fresh.containerClient(container).getBlockBlobClient('c/leader');
    expect(await countedDuring(fresh, () => fresh.createContainerIfNotExists(container))).toEqual({
      setup: 1,
    });
    expect(await countedDuring(fresh, () => blob.upload('', 0))).toEqual({ setup: 1 });
    const lease = blob.getBlobLeaseClient();
    const leaseCalls = await countedDuring(fresh, async () => {
      await lease.acquireLease(15);
      await blob.getProperties();
      await blob.setMetadata({ epoch: '1' }, { conditions: { leaseId: lease.leaseId } });
      await lease.renewLease();
      await lease.releaseLease();
    });
    expect(leaseCalls).toEqual({ lease: 5 });
    const counts = fresh.transactions!.counts().byKind;
    // Lease Blob, Get Blob Properties and Set Blob Metadata are "other" operations on GPv2 accounts.
    expect(counts.lease).toMatchObject({ blobOther: 5, blobWrite: 0, table: 0 });
    expect(counts.setup).toMatchObject({ blobListCreate: 1, blobWrite: 1 });
  });
});

describe('throttled answers, counted by kind', () => {
  let server: http.Server;
  let port = 0;
  beforeAll(async () => {
    // An account that throttles everything: tables answer 503 ServerBusy, blobs 500 OperationTimedOut.
    server = http.createServer((req, res) => {
      req.resume();
      const blob = req.url?.startsWith('/blob') ?? false;
      res.writeHead(blob ? 500 : 503, {
        'x-ms-error-code': blob ? 'OperationTimedOut' : 'ServerBusy',
        'content-type': 'application/json',
      });
      res.end(blob ? '' : '{"odata.error":{"code":"ServerBusy","message":{"value":"busy"}}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('counts 503 ServerBusy on a member read and 500 OperationTimedOut on a lease call as throttled', async () => {
    const account = 'devstoreaccount1';
    const key = inject('azuriteConnectionString').match(/AccountKey=([^;]+)/)![1]!;
    const storage = connectStorage({
      blobEndpoint: `http://127.0.0.1:${port}/blob/${account}`,
      tableEndpoint: `http://127.0.0.1:${port}/table/${account}`,
      sharedKey: { accountName: account, accountKey: key },
    });
    const membership = new Membership({ storage, cluster: 'busy', nodeId: 'm', tablePrefix: 'busy' });
    await expect(membership.refresh()).rejects.toThrow();
    await expect(
      storage.containerClient('busy').getBlockBlobClient('busy/leader').getBlobLeaseClient().acquireLease(15),
    ).rejects.toThrow();
    const { byKind, total } = storage.transactions!.counts();
    expect(byKind.membership).toMatchObject({ requests: 1, throttled: 1 });
    expect(byKind.lease).toMatchObject({ requests: 1, throttled: 1 });
    expect(total.throttled).toBe(2);
  });
});

describe('StorageTransactionCounter', () => {
  it('gives per-hour rates over the time counted, and starts afresh on reset', () => {
    let now = 0;
    const counter = new StorageTransactionCounter(() => now);
    const poll = {
      service: 'table' as const,
      method: 'GET',
      url: "http://h/a/t()?$filter=PartitionKey%20eq%20'c%3Ax%3Ay'",
    };
    for (let i = 0; i < 30; i++) counter.request(poll);
    now = 30_000;
    expect(counter.counts().byKind['bus-poll']).toMatchObject({ requests: 30, perHour: 3600 });
    expect(counter.counts().total).toMatchObject({ requests: 30, perHour: 3600, throttled: 0 });
    counter.reset();
    now = 40_000;
    expect(counter.counts().total.requests).toBe(0);
    expect(counter.snapshot()).toEqual({});
  });

  it('classifies rows it does not know, and unparsable URLs, as other rather than guessing', () => {
    expect(
      classifyStorageRequest({
        service: 'table',
        method: 'GET',
        url: "http://h/a/t(PartitionKey='l%3As%3Ak',RowKey='1')",
      }).kind,
    ).toBe('other');
    expect(classifyStorageRequest({ service: 'table', method: 'GET', url: 'not a url' }).kind).toBe('other');
  });
});
