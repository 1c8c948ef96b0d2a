import { describe, expect, it } from 'vitest';
import { setTimeout as delay } from 'node:timers/promises';
import { ServerTimeEstimate, systemClock } from '../../src/clock/index.js';
import { testStorage, uniqueName } from '../helpers/storage.js';

describe('ServerTimeEstimate against Azurite', () => {
  // Azurite runs on this machine, so its clock is the local Date.now(): the estimate can be
  // checked against the truth. One header alone is only good to ±500 ms.
  it('is within 150 ms of the server clock after ~20 requests spread over a second', async () => {
    const storage = testStorage();
    const tableName = uniqueName('st');
    await storage.createTableIfNotExists(tableName);
    const table = storage.tableClient(tableName);
    const estimate = new ServerTimeEstimate(systemClock);
    // 53 ms apart: the requests reach the server at phases spread over its whole second, which is
    // what lets the intersection narrow from both sides.
    for (let i = 0; i < 21; i++) {
      const sentAt = estimate.monotonicNow();
      await table.upsertEntity({ partitionKey: 'p', rowKey: 'r', i }, 'Replace', {
        onResponse: (r) => estimate.observe(r.headers.get('date'), sentAt),
      });
      await delay(53);
    }
    const errors: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = Date.now();
      const now = estimate.now()!;
      const after = Date.now();
      errors.push(Math.max(Math.abs(now - before), Math.abs(now - after)));
      await delay(97);
    }
    expect(Math.max(...errors)).toBeLessThanOrEqual(150);
    expect(estimate.uncertaintyMs()).toBeLessThanOrEqual(150);
    expect(estimate.restarts).toBe(0);
    const bounds = estimate.bounds()!;
    expect(bounds.lower).toBeLessThanOrEqual(Date.now() + 1);
    expect(bounds.upper).toBeGreaterThanOrEqual(Date.now() - 1);
    await table.deleteTable();
  });
});
