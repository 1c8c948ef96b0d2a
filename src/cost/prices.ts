/**
 * Storage transaction prices used by the cost estimate. These are list prices as recorded by the
 * gossipless maintainers, not fetched: prices change by region, redundancy and date, so every
 * figure computed from them is labelled an estimate. Override with `gossipless status --cost --prices <file>`.
 */
export interface TransactionPrices {
  /** USD per 10,000 table transactions. */
  tablePer10k: number;
  /** USD per 10,000 blob write operations (Put Blob: the lease blob's creation). */
  blobWritePer10k: number;
  /** USD per 10,000 blob read operations (Get Blob). */
  blobReadPer10k: number;
  /**
   * USD per 10,000 blob "other" operations: on general-purpose v2 accounts, Lease Blob (acquire,
   * renew, release), Get Blob Properties and Set Blob Metadata are billed in this category. When a
   * prices file leaves it out, the read price is used (the two are equal on the hot tier).
   */
  blobOtherPer10k?: number;
  /** Where the figures come from and when they were recorded. */
  source: string;
}

/** Default prices: Azure Storage, general-purpose v2, LRS, hot tier, US East. */
export const DEFAULT_PRICES: TransactionPrices = {
  tablePer10k: 0.00036,
  blobWritePer10k: 0.055,
  blobReadPer10k: 0.0044,
  blobOtherPer10k: 0.0044,
  source:
    'Azure Storage pricing pages (Table storage; Block blob, hot, LRS), US East list prices as recorded 2025-06; ' +
    'lease calls are "other" operations (learn.microsoft.com/azure/storage/blobs/map-rest-apis-transaction-categories); ' +
    'verify at https://azure.microsoft.com/pricing/details/storage/',
};
