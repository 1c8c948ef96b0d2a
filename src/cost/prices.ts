/**
 * Storage transaction prices used by the cost estimate. These are list prices as recorded by the
 * gossipless maintainers, not fetched: prices change by region, redundancy and date, so every
 * figure computed from them is labelled an estimate. Override with `gossipless status --cost --prices <file>`.
 */
export interface TransactionPrices {
  /** USD per 10,000 table transactions. */
  tablePer10k: number;
  /** USD per 10,000 blob write-class operations (acquire/renew/release lease, set metadata). */
  blobWritePer10k: number;
  /** USD per 10,000 blob read-class operations (get properties). */
  blobReadPer10k: number;
  /** Where the figures come from and when they were recorded. */
  source: string;
}

/** Default prices: Azure Storage, general-purpose v2, LRS, hot tier, US East. */
export const DEFAULT_PRICES: TransactionPrices = {
  tablePer10k: 0.00036,
  blobWritePer10k: 0.055,
  blobReadPer10k: 0.0044,
  source:
    'Azure Storage pricing pages (Table storage; Block blob, hot, LRS), US East list prices as recorded 2025-06; verify at https://azure.microsoft.com/pricing/details/storage/',
};
