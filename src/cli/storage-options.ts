import { GossiplessError } from '@gossipless/runtime/errors';
import { connectStorage, type StorageConnection } from '@gossipless/runtime';

/** Storage flags shared by commands that talk to a cluster. Secrets come only from the environment. */
export interface StorageCliOptions {
  accountName?: string;
  blobEndpoint?: string;
  tableEndpoint?: string;
}

/** Name of the variable holding a SAS token for `--blob-endpoint/--table-endpoint`. */
export const SAS_ENV = 'AZURE_STORAGE_SAS';

/**
 * Connects from CLI flags: `--account-name` (DefaultAzureCredential), explicit endpoints with a SAS
 * from AZURE_STORAGE_SAS (or DefaultAzureCredential), else AZURE_STORAGE_CONNECTION_STRING.
 */
export function storageFromCli(options: StorageCliOptions, env: NodeJS.ProcessEnv): StorageConnection {
  if (options.accountName) return connectStorage({ accountName: options.accountName }, env);
  if (options.blobEndpoint || options.tableEndpoint) {
    if (!options.blobEndpoint || !options.tableEndpoint) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        '--blob-endpoint and --table-endpoint go together: pass both',
      );
    }
    const sas = env[SAS_ENV];
    return connectStorage(
      { blobEndpoint: options.blobEndpoint, tableEndpoint: options.tableEndpoint, ...(sas ? { sas } : {}) },
      env,
    );
  }
  try {
    return connectStorage(undefined, env);
  } catch (error) {
    // The library's message speaks of options bags; on the command line the choices are flags.
    if (error instanceof GossiplessError && error.code === 'STORAGE_NOT_CONFIGURED') {
      throw new GossiplessError(
        'STORAGE_NOT_CONFIGURED',
        'no storage configured: set AZURE_STORAGE_CONNECTION_STRING, or pass --account-name <name> ' +
          '(signs in with DefaultAzureCredential), or --blob-endpoint and --table-endpoint with ' +
          `${SAS_ENV}; for a local cluster run \`gossipless dev\` and export the connection string it prints`,
      );
    }
    throw error;
  }
}
