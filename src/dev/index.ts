export {
  startAzurite,
  findFreePort,
  waitForPort,
  azuriteConnectionString,
  AZURITE_ACCOUNT_NAME,
  AZURITE_ACCOUNT_KEY,
} from './azurite.js';
export type { StartAzuriteOptions, AzuriteInstance } from './azurite.js';
