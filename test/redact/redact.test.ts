import { describe, expect, it } from 'vitest';
import { redact } from '../../src/redact/index.js';
import { GossiplessError } from '../../src/errors/index.js';

const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

describe('redact', () => {
  it.each([
    [`AccountName=a;AccountKey=${KEY};`, KEY],
    ['https://a.blob.core.windows.net/c?sv=2022&sig=abc%2Bdef%3D&se=2030', 'abc%2Bdef%3D'],
    ['SharedAccessSignature=sv=2022&sig=zzz;', 'sig=zzz'],
    ['Authorization: SharedKey acct:AbCdEf123+/=', 'AbCdEf123+/='],
    ['Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig', 'eyJhbGciOi'],
    [`a bare key ${KEY} in text`, KEY],
  ])('removes the secret from %s', (input, secret) => {
    const output = redact(input);
    expect(output).not.toContain(secret);
    expect(output).toContain('[REDACTED]');
  });

  it('leaves ordinary text alone', () => {
    expect(redact('lease lost on cluster orders (epoch 4)')).toBe('lease lost on cluster orders (epoch 4)');
  });

  it('is applied to every GossiplessError message', () => {
    const error = new GossiplessError('STORAGE_ERROR', `failed with AccountKey=${KEY}`);
    expect(error.message).not.toContain(KEY);
  });
});
