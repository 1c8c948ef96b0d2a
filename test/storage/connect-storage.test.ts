import { describe, expect, inject, it } from 'vitest';
import { ACCOUNT_NAME_ENV, connectStorage, CONNECTION_STRING_ENV } from '../../src/storage/index.js';
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

  it('with no connection string, reads AZURE_STORAGE_ACCOUNT_NAME and connects by identity (no key)', () => {
    const storage = connectStorage(undefined, { [ACCOUNT_NAME_ENV]: 'gossiplessprod' });
    expect(storage.accountName).toBe('gossiplessprod');
    expect(storage.description).toContain('https://gossiplessprod.blob.core.windows.net');
    expect(storage.description).toContain('https://gossiplessprod.table.core.windows.net');
    // The connection string wins when both are set (a local override of a deployed default).
    const both = connectStorage(undefined, {
      [ACCOUNT_NAME_ENV]: 'gossiplessprod',
      [CONNECTION_STRING_ENV]: `DefaultEndpointsProtocol=http;AccountName=acct1;AccountKey=${FAKE_KEY};BlobEndpoint=http://127.0.0.1:1/acct1;TableEndpoint=http://127.0.0.1:1/acct1;`,
    });
    expect(both.accountName).toBe('acct1');
    expect(() => connectStorage(undefined, {})).toThrow(ACCOUNT_NAME_ENV);
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

describe('least privilege', () => {
  it('treats 403 on create as "provisioned beforehand" for a container and a table, not as a failure', async () => {
    const {
      AccountSASPermissions,
      AccountSASResourceTypes,
      AccountSASServices,
      StorageSharedKeyCredential,
      generateAccountSASQueryParameters,
    } = await import('@azure/storage-blob');
    const { AzureNamedKeyCredential, generateAccountSas } = await import('@azure/data-tables');
    const { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } = await import('../../src/dev/index.js');
    const expiresOn = new Date(Date.now() + 3600_000);
    // Read and list only: the identity can use what exists but not create anything.
    const blobSas = generateAccountSASQueryParameters(
      {
        permissions: AccountSASPermissions.parse('rl'),
        resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
        services: AccountSASServices.parse('b').toString(),
        expiresOn,
      },
      new StorageSharedKeyCredential(AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY),
    ).toString();
    const tableSas = generateAccountSas(
      new AzureNamedKeyCredential(AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY),
      {
        permissions: { query: true, list: true },
        expiresOn,
      },
    );
    const blobOnly = connectStorage({
      blobEndpoint: inject('azuriteBlobEndpoint'),
      tableEndpoint: inject('azuriteTableEndpoint'),
      sas: blobSas,
    });
    const tableOnly = connectStorage({
      blobEndpoint: inject('azuriteBlobEndpoint'),
      tableEndpoint: inject('azuriteTableEndpoint'),
      sas: tableSas,
    });
    const name = uniqueName('p');
    await expect(blobOnly.createContainerIfNotExists(name)).resolves.toEqual({ created: false });
    await expect(tableOnly.createTableIfNotExists(name)).resolves.toEqual({ created: false });
    // …and nothing was created.
    expect(await testStorage().createContainerIfNotExists(name)).toEqual({ created: true });
  });
});
