import type { TestProject } from 'vitest/node';
import { startAzurite, type AzuriteInstance } from '../src/dev/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
    azuriteBlobEndpoint: string;
    azuriteTableEndpoint: string;
  }
}

let azurite: AzuriteInstance | undefined;

/** Starts one in-memory Azurite for the whole run; tests read it with `inject(...)`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A loaded 2-core machine (every core busy) took over 30 s to open the ports.
  azurite ??= await startAzurite({ startTimeoutMs: 120_000 });
  project.provide('azuriteConnectionString', azurite.connectionString);
  project.provide('azuriteBlobEndpoint', azurite.blobEndpoint);
  project.provide('azuriteTableEndpoint', azurite.tableEndpoint);
  return async () => {
    await azurite?.stop();
    azurite = undefined;
  };
}
