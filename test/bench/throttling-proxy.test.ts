import { afterEach, describe, expect, inject, it } from 'vitest';
import { AzureNamedKeyCredential, TableClient, TableServiceClient } from '@azure/data-tables';
import {
  AccountLimits,
  ThrottlingProxy,
  classifyTableRequest,
  type ScalabilityTargets,
} from '../../bench/support/throttling-proxy.js';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from '../../src/dev/index.js';
import { storageErrorCode } from '../../src/storage/index.js';
import { uniqueName } from '../helpers/storage.js';

const proxies: ThrottlingProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** A proxy whose buckets only refill when the test moves its clock. */
async function throttled(targets: Partial<ScalabilityTargets>): Promise<{
  proxy: ThrottlingProxy;
  limits: AccountLimits;
  advance: (ms: number) => void;
  client: (table: string) => TableClient;
}> {
  let now = 0;
  const limits = new AccountLimits(
    {
      partitionEntitiesPerSecond: 20,
      tableEntitiesPerSecond: 1000,
      accountRequestsPerSecond: 1000,
      ...targets,
    },
    () => now,
  );
  const tablePort = Number(new URL(inject('azuriteTableEndpoint')).port);
  const proxy = await new ThrottlingProxy(limits, 'table', tablePort).listen();
  proxies.push(proxy);
  const credential = new AzureNamedKeyCredential(AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY);
  const url = `http://127.0.0.1:${proxy.port}/${AZURITE_ACCOUNT_NAME}`;
  // No retries: the test looks at the proxy's own answers (the SDK would wait Retry-After and retry).
  const options = { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } };
  return {
    proxy,
    limits,
    advance: (ms) => void (now += ms),
    client: (table) => new TableClient(url, table, credential, options),
  };
}

async function createTable(name: string): Promise<void> {
  const credential = new AzureNamedKeyCredential(AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY);
  await new TableServiceClient(inject('azuriteTableEndpoint'), credential, {
    allowInsecureConnection: true,
  }).createTable(name);
}

interface RefusedCall {
  code?: string;
  statusCode?: number;
  response?: { headers: { get(name: string): string | undefined } };
}

async function outcome(call: Promise<unknown>): Promise<{ status: number; error?: RefusedCall }> {
  try {
    await call;
    return { status: 200 };
  } catch (error) {
    const refused = error as RefusedCall;
    if (typeof refused?.statusCode === 'number') return { status: refused.statusCode, error: refused };
    throw error;
  }
}

describe('ThrottlingProxy', () => {
  it('answers a burst beyond a partition rate with 503 ServerBusy and a Retry-After, without forwarding', async () => {
    const { client, limits, proxy, advance } = await throttled({ partitionEntitiesPerSecond: 20 });
    const name = uniqueName('thr');
    await createTable(name);
    const table = client(name);
    const results = [];
    for (let i = 0; i < 30; i++)
      results.push(await outcome(table.upsertEntity({ partitionKey: 'p', rowKey: `r${i}` })));
    expect(results.slice(0, 20).every((r) => r.status === 200)).toBe(true);
    const refused = results.slice(20);
    expect(refused.every((r) => r.status === 503)).toBe(true);
    const error = refused[0]!.error!;
    expect(storageErrorCode(error)).toBe('ServerBusy');
    expect(error.response?.headers.get('x-ms-error-code')).toBe('ServerBusy');
    expect(Number(error.response?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limits.throttled.partition).toBe(10);
    expect(limits.throttledByKind.write).toBe(10);
    // Not forwarded: the table holds only the 20 admitted rows (read once the bucket refilled).
    advance(1000);
    const rows = [];
    for await (const row of table.listEntities()) rows.push(row);
    expect(rows).toHaveLength(20);
    expect(proxy.requests.filter((r) => r.throttled).length).toBe(10);
  });

  it('passes traffic within the rate, refilled over each second', async () => {
    const { client, limits, advance } = await throttled({ partitionEntitiesPerSecond: 20 });
    const name = uniqueName('thr');
    await createTable(name);
    const table = client(name);
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 20; i++) {
        expect(
          (await outcome(table.upsertEntity({ partitionKey: 'p', rowKey: `r${second}-${i}` }))).status,
        ).toBe(200);
      }
      advance(1000);
    }
    expect(limits.throttled).toEqual({ partition: 0, table: 0, account: 0 });
  });

  it('keeps partitions independent', async () => {
    const { client, limits } = await throttled({ partitionEntitiesPerSecond: 20 });
    const name = uniqueName('thr');
    await createTable(name);
    const table = client(name);
    for (let i = 0; i < 20; i++) await table.upsertEntity({ partitionKey: 'hot', rowKey: `r${i}` });
    expect((await outcome(table.upsertEntity({ partitionKey: 'hot', rowKey: 'x' }))).status).toBe(503);
    expect((await outcome(table.upsertEntity({ partitionKey: 'cold', rowKey: 'x' }))).status).toBe(200);
    expect((await outcome(table.getEntity('cold', 'x'))).status).toBe(200);
    expect(limits.throttled.partition).toBe(1);
  });

  it('charges a query with the entities it returned, per partition, and a batch per operation', async () => {
    const { client, limits, proxy, advance } = await throttled({ partitionEntitiesPerSecond: 20 });
    const name = uniqueName('thr');
    await createTable(name);
    const table = client(name);
    await table.submitTransaction(
      Array.from({ length: 15 }, (_, i) => ['upsert', { partitionKey: 'p', rowKey: `r${i}` }] as const),
    );
    expect(proxy.requests.at(-1)).toMatchObject({ kind: 'batch', partition: 'p', entities: 15 });
    advance(1000);
    const rows = [];
    for await (const row of table.listEntities({ queryOptions: { filter: "PartitionKey eq 'p'" } }))
      rows.push(row);
    expect(rows).toHaveLength(15);
    expect(proxy.requests.at(-1)).toMatchObject({ kind: 'query', partition: 'p', entities: 15 });
    // 20 − 15 left: a sixth entity written fits, the sixth after it does not.
    for (let i = 0; i < 5; i++) await table.upsertEntity({ partitionKey: 'p', rowKey: `w${i}` });
    expect((await outcome(table.upsertEntity({ partitionKey: 'p', rowKey: 'over' }))).status).toBe(503);
    // A read is admitted while the bucket is positive and charged after: a second scan now waits.
    advance(100);
    const again = await outcome(
      (async () => {
        for await (const row of table.listEntities({ queryOptions: { filter: "PartitionKey eq 'p'" } }))
          void row;
      })(),
    );
    expect(again.status).toBe(200);
    expect((await outcome(table.getEntity('p', 'r0'))).status).toBe(503);
    expect(limits.throttledByKind['point-read']).toBe(1);
  });

  it('limits requests per account, whatever their partitions', async () => {
    const { client, limits } = await throttled({
      accountRequestsPerSecond: 5,
      partitionEntitiesPerSecond: 1000,
    });
    const name = uniqueName('thr');
    await createTable(name);
    const table = client(name);
    const statuses = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await outcome(table.upsertEntity({ partitionKey: `p${i}`, rowKey: 'r' }))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 503, 503, 503]);
    expect(limits.throttled.account).toBe(3);
  });
});

describe('classifyTableRequest', () => {
  it('reads the partition of point operations, single-partition queries and inserts', () => {
    expect(classifyTableRequest('GET', "/acct/tbl(PartitionKey='m%3Aa''b',RowKey='x')", '')).toMatchObject({
      kind: 'point-read',
      table: 'tbl',
      partition: "m:a'b",
    });
    expect(
      classifyTableRequest('GET', `/acct/tbl()?$filter=${encodeURIComponent("PartitionKey eq 'm:c'")}`, ''),
    ).toMatchObject({ kind: 'query', partition: 'm:c' });
    expect(
      classifyTableRequest(
        'GET',
        `/acct/tbl()?$filter=${encodeURIComponent("PartitionKey ge 'c:' and PartitionKey lt 'c;'")}`,
        '',
      ),
    ).toMatchObject({ kind: 'query', partition: undefined });
    expect(classifyTableRequest('POST', '/acct/tbl', '{"PartitionKey":"p1","RowKey":"r"}')).toMatchObject({
      kind: 'write',
      partition: 'p1',
      entities: 1,
    });
    expect(classifyTableRequest('POST', '/acct/Tables', '{"TableName":"x"}')).toMatchObject({
      kind: 'table-op',
    });
  });
});
