import { afterAll, inject } from 'vitest';
import { azuriteConnectionString } from '../../src/dev/index.js';
import { connectStorage, type StorageConnection } from '../../src/storage/index.js';
import { storageFaultProxies, type StorageFaultProxies } from '../support/storage-fault-proxy.js';

/** A blob + table fault proxy pair in front of the run's Azurite. */
export interface ProxiedStorage extends StorageFaultProxies {
  /** A new connection whose calls all go through the pair. */
  connect(): StorageConnection;
}

/**
 * Opens fault proxy pairs in front of the run's Azurite; every pair opened is closed once the
 * file's tests are done. Call at a test file's top level.
 */
export function faultProxiesForFile(): () => Promise<ProxiedStorage> {
  const opened: StorageFaultProxies[] = [];
  afterAll(async () => {
    await Promise.all(opened.splice(0).map((p) => p.close()));
  });
  return async () => {
    const blob = new URL(inject('azuriteBlobEndpoint'));
    const table = new URL(inject('azuriteTableEndpoint'));
    const proxies = await storageFaultProxies(
      { blobPort: Number(blob.port), tablePort: Number(table.port) },
      azuriteConnectionString,
    );
    opened.push(proxies);
    return { ...proxies, connect: () => connectStorage({ connectionString: proxies.connectionString }) };
  };
}
