import { describe, expect, it } from 'vitest';
import { connectStorage, CONNECTION_STRING_ENV } from '../../src/storage/index.js';
import { GossiplessError } from '../../src/errors/index.js';
import { testStorage, uniqueName } from '../helpers/storage.js';

const FAKE_KEY = 'c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5cw==';

describe('connectStorage', () => {
  it('names the environment variable and `gossipless dev` when nothing is configured', () => {
    const attempt = () => connectStorage(undefined, {});
    expect(attempt).toThrow(GossiplessError);
    expect(attempt).toThrow(CONNECTION_STRING_ENV);
    expect(attempt).toThrow('gossipless dev');
  });

  it('rejects a malformed account name with the name in the message', () => {
    expect(() => connectStorage({ accountName: 'Bad_Name' })).toThrow(/Bad_Name/);
  });

  it('creates a container and a table idempotently: the second create is success, not an error', async () => {
    const storage = testStorage();
    const name = uniqueName('c');
    expect(await storage.createContainerIfNotExists(name)).toEqual({ created: true });
    expect(await storage.createContainerIfNotExists(name)).toEqual({ created: false });
    expect(await storage.createTableIfNotExists(name)).toEqual({ created: true });
    expect(await storage.createTableIfNotExists(name)).toEqual({ created: false });
  });

  it('never shows the account key or a SAS signature in its description or errors', async () => {
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=acct1;AccountKey=${FAKE_KEY};BlobEndpoint=http://127.0.0.1:1/acct1;TableEndpoint=http://127.0.0.1:1/acct1;`;
    const storage = connectStorage({ connectionString });
    expect(storage.description).not.toContain(FAKE_KEY);
    const sasStorage = connectStorage({
      blobEndpoint: 'http://127.0.0.1:1/acct1',
      tableEndpoint: 'http://127.0.0.1:1/acct1',
      sas: 'sv=2022-11-02&ss=bt&sig=SECRETSIGNATURE%3D',
    });
    expect(sasStorage.description).not.toContain('SECRETSIGNATURE');
    const broken = () => connectStorage({ connectionString: `AccountKey=${FAKE_KEY};garbage` });
    let message = '';
    try {
      broken();
    } catch (error) {
      message = String((error as Error).message);
    }
    expect(message).not.toBe('');
    expect(message).not.toContain(FAKE_KEY);
  });
});
