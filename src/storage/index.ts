export { connectStorage, CONNECTION_STRING_ENV, ACCOUNT_NAME_ENV } from './connect-storage.js';
export type {
  StorageConnection,
  StorageTarget,
  ConnectionStringTarget,
  AccountNameTarget,
  EndpointsTarget,
} from './connect-storage.js';
export {
  isAlreadyExists,
  isNotFound,
  isLeaseLost,
  isLeaseAlreadyPresent,
  isPreconditionFailed,
  isTransient,
  isForbidden,
  storageErrorCode,
  storageStatusCode,
} from './storage-errors.js';
export { deadlineSignal } from './deadline.js';
export { retryTransient } from './retry-transient.js';
export { storageFailure } from './storage-failure.js';
export { retryAfterMs, isThrottled, isThrottledResponse, backoffDelayMs } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export type { RetryTransientOptions } from './retry-transient.js';
export { LeasePriorityGate } from './lease-priority.js';
export {
  StorageTransactionCounter,
  classifyStorageRequest,
  STORAGE_TRANSACTION_KINDS,
} from './transaction-counter.js';
export type {
  StorageTransactionKind,
  BillingClass,
  StorageRequestShape,
  KindCounts,
  TransactionCounts,
} from './transaction-counter.js';
