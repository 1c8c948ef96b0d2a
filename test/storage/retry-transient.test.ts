import { describe, expect, it } from 'vitest';
import { retryTransient } from '../../src/storage/index.js';

const reset = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('retryTransient', () => {
  it('retries a reset connection until the call succeeds', async () => {
    let calls = 0;
    const result = await retryTransient(async () => {
      calls++;
      if (calls < 3) throw reset();
      return 'done';
    }, AbortSignal.timeout(2000));
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('does not repeat a call that failed for good (409), and gives up at the deadline', async () => {
    let calls = 0;
    // Shaped like the SDK's RestError for a lease id mismatch.
    const conflict = Object.assign(new Error('lease id mismatch'), { name: 'RestError', statusCode: 409 });
    await expect(
      retryTransient(async () => {
        calls++;
        throw conflict;
      }, AbortSignal.timeout(2000)),
    ).rejects.toBe(conflict);
    expect(calls).toBe(1);

    const started = Date.now();
    await expect(
      retryTransient(async () => {
        throw reset();
      }, AbortSignal.timeout(300)),
    ).rejects.toThrow('socket hang up');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
