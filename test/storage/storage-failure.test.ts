import { describe, expect, it } from 'vitest';
import { GossiplessError } from '../../src/errors/index.js';
import { storageFailure } from '../../src/storage/index.js';

describe('storageFailure', () => {
  it('names what failed, says whether a retry may help, and redacts the cause', () => {
    const reset = Object.assign(
      new Error('connect ECONNRESET https://acct.blob.core.windows.net/c?sv=2024&sig=SECRETSIG123'),
      { code: 'ECONNRESET' },
    );
    const error = storageFailure('rate limiter sync', reset);
    expect(error).toBeInstanceOf(GossiplessError);
    expect(error.code).toBe('STORAGE_UNAVAILABLE');
    expect(error.message).toMatch(/^rate limiter sync failed: /);
    expect(error.message).not.toContain('SECRETSIG123');
    expect(error.cause).toBe(reset);

    const denied = Object.assign(new Error('This request is not authorized'), {
      name: 'RestError',
      statusCode: 403,
    });
    expect(storageFailure('lease renew', denied).code).toBe('STORAGE_ERROR');
  });

  it('passes a GossiplessError through unchanged', () => {
    const own = new GossiplessError('STOPPED', 'leader is stopping');
    expect(storageFailure('bus poll', own)).toBe(own);
  });
});
