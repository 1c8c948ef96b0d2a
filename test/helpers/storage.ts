import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { connectStorage, type StorageConnection } from '../../src/storage/index.js';

/** A connection to the run's Azurite. */
export function testStorage(): StorageConnection {
  return connectStorage({ connectionString: inject('azuriteConnectionString') });
}

/** A fresh lowercase-alphanumeric name, so tests never see each other's data. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}
