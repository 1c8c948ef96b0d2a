import { afterEach, describe, expect, inject, it } from 'vitest';
import { azuriteConnectionString } from '../../src/dev/index.js';
import { connectStorage, LeasePriorityGate } from '../../src/storage/index.js';
import { StorageFaultProxy } from '../support/storage-fault-proxy.js';
import { uniqueName } from '../helpers/storage.js';

/** Resolves after `ms`; for letting queued calls show whether they went ahead. */
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('LeasePriorityGate', () => {
  it('lets table calls through at once while no renewal is due', async () => {
    const gate = new LeasePriorityGate();
    const started = performance.now();
    await gate.whenClear(5000);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(gate.busy).toBe(false);
  });

  it('holds queued calls while a renewal is due, and releases them right after it, in order', async () => {
    const gate = new LeasePriorityGate();
    const sent: string[] = [];
    const release = gate.hold();
    expect(gate.busy).toBe(true);
    // Bus and membership calls made while the renewal is due wait (for far longer than this test).
    const table = ['bus poll', 'heartbeat'].map(async (call) => {
      await gate.whenClear(60_000);
      sent.push(call);
    });
    await pause(100);
    expect(sent).toEqual([]);
    // The renewal goes out first, then clears the gate.
    sent.push('renewal');
    release();
    await Promise.all(table);
    expect(sent).toEqual(['renewal', 'bus poll', 'heartbeat']);
    expect(gate.busy).toBe(false);
  });

  it('stays shut until every hold is released; releasing twice counts once', async () => {
    const gate = new LeasePriorityGate();
    const first = gate.hold();
    const second = gate.hold();
    let through = false;
    const waiting = gate.whenClear(60_000).then(() => (through = true));
    first();
    first();
    await pause(50);
    expect(through).toBe(false);
    expect(gate.busy).toBe(true);
    second();
    await waiting;
    expect(through).toBe(true);
    // Had the double release counted twice, the gate would be open under this new hold.
    const third = gate.hold();
    let thirdThrough = false;
    const waitingAgain = gate.whenClear(60_000).then(() => (thirdThrough = true));
    await pause(50);
    expect(thirdThrough).toBe(false);
    third();
    await waitingAgain;
  });

  it('never stalls a call longer than maxWaitMs, nor past its abort signal', async () => {
    const gate = new LeasePriorityGate();
    gate.hold(); // a renewal that never finishes
    let started = performance.now();
    await gate.whenClear(150);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(5000);
    const aborted = new AbortController();
    started = performance.now();
    const waiting = gate.whenClear(60_000, aborted.signal);
    setTimeout(() => aborted.abort(), 50);
    await waiting;
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});

describe('a storage connection with a due renewal', () => {
  const proxies: StorageFaultProxy[] = [];
  afterEach(async () => {
    for (const proxy of proxies.splice(0)) await proxy.close();
  });

  it('sends the renewal (blob) before table calls made while it was due', async () => {
    const blob = await new StorageFaultProxy(
      Number(new URL(inject('azuriteBlobEndpoint')).port),
      'blob',
    ).listen();
    const table = await new StorageFaultProxy(
      Number(new URL(inject('azuriteTableEndpoint')).port),
      'table',
    ).listen();
    proxies.push(blob, table);
    const storage = connectStorage({
      connectionString: azuriteConnectionString(
        `http://127.0.0.1:${blob.port}/devstoreaccount1`,
        `http://127.0.0.1:${table.port}/devstoreaccount1`,
      ),
    });
    const tableName = uniqueName('prio');
    const containerName = uniqueName('prio');
    await storage.createTableIfNotExists(tableName);
    await storage.createContainerIfNotExists(containerName);
    blob.reset();
    table.reset();

    const gate = storage.leasePriority!;
    const release = gate.hold();
    // A heartbeat and a bus poll issued while the renewal is due.
    const client = storage.tableClient(tableName);
    const issuedAt = Date.now();
    const heartbeat = client.upsertEntity({ partitionKey: 'm:c', rowKey: 'a', n: 1 }, 'Replace');
    const poll = client.listEntities({ queryOptions: { filter: "PartitionKey eq 'c:c:x'" } }).next();
    await pause(200);
    // Stands in for the renewal: a blob call sent while the gate is held.
    await storage.containerClient(containerName).getProperties();
    const releasedAt = Date.now();
    release();
    await Promise.all([heartbeat, poll]);

    expect(blob.records).toHaveLength(1);
    expect(table.records).toHaveLength(2);
    // Each table call reached storage only once the renewal was done, or once its bounded wait
    // (1 s) was over, had a loaded machine made the renewal that slow; without the gate both
    // arrive within milliseconds of being issued.
    const earliest = Math.min(releasedAt, issuedAt + 1000);
    for (const r of table.records) expect(r.at).toBeGreaterThanOrEqual(earliest);
    if (releasedAt < issuedAt + 1000) {
      expect(Math.min(...table.records.map((r) => r.at))).toBeGreaterThanOrEqual(blob.records[0]!.at);
    }
  });
});
