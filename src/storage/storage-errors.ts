/**
 * Recognises storage outcomes by `statusCode` / `code`, never by message text (the Azure SDK's
 * messages change; codes do not). Azure and Azurite sometimes disagree on codes: both are listed.
 */

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  details?: { errorCode?: string };
  name?: string;
}

function asRestError(error: unknown): RestErrorLike {
  return typeof error === 'object' && error !== null ? (error as RestErrorLike) : {};
}

/** The storage error code (x-ms-error-code), from wherever the SDK put it. */
export function storageErrorCode(error: unknown): string | undefined {
  const e = asRestError(error);
  return e.details?.errorCode ?? e.code;
}

/** HTTP status of a storage error, if it came from a response. */
export function storageStatusCode(error: unknown): number | undefined {
  return asRestError(error).statusCode;
}

/** 409 `ContainerAlreadyExists` / `TableAlreadyExists` (or `EntityAlreadyExists`). */
export function isAlreadyExists(error: unknown): boolean {
  const code = storageErrorCode(error);
  return (
    storageStatusCode(error) === 409 &&
    (code === 'ContainerAlreadyExists' ||
      code === 'TableAlreadyExists' ||
      code === 'EntityAlreadyExists' ||
      code === 'BlobAlreadyExists')
  );
}

/** 404 of any kind (blob, container, table, entity, resource). */
export function isNotFound(error: unknown): boolean {
  return storageStatusCode(error) === 404;
}

// Codes meaning "you do not hold the lease (any more)". Azure answers a renew after expiry-and-
// re-acquire with 409 LeaseIdMismatchWithLeaseOperation; a write under a stale lease id with 412
// LeaseIdMismatchWithBlobOperation / LeaseLost; Azurite answers an expired lease's write with
// LeaseNotPresentWithBlobOperation where Azure says LeaseLost (Azure's docs, Azurite's source).
const LEASE_LOST_CODES = new Set([
  'LeaseLost',
  'LeaseIdMismatchWithLeaseOperation',
  'LeaseIdMismatchWithBlobOperation',
  'LeaseNotPresentWithLeaseOperation',
  'LeaseNotPresentWithBlobOperation',
  'LeaseIsBrokenAndCannotBeRenewed',
  'LeaseIsBreakingAndCannotBeChanged',
  'LeaseAlreadyBroken',
  'LeaseIdMissing',
]);

/** A 409/412 that means this node no longer holds the lease. */
export function isLeaseLost(error: unknown): boolean {
  const status = storageStatusCode(error);
  const code = storageErrorCode(error);
  return (status === 409 || status === 412) && code !== undefined && LEASE_LOST_CODES.has(code);
}

/** A 409 on acquire: somebody else holds the lease. */
export function isLeaseAlreadyPresent(error: unknown): boolean {
  const code = storageErrorCode(error);
  return storageStatusCode(error) === 409 && (code === 'LeaseAlreadyPresent' || code === undefined);
}

/** 412 Precondition Failed (ETag / lease condition not met). */
export function isPreconditionFailed(error: unknown): boolean {
  return storageStatusCode(error) === 412;
}

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'REQUEST_SEND_ERROR',
]);

/**
 * A failure worth retrying: no response (connection refused/reset, timeout, our own per-call
 * deadline aborting) or a 408/429/5xx. A definite answer (4xx) is never transient.
 */
export function isTransient(error: unknown): boolean {
  const e = asRestError(error);
  const status = e.statusCode;
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return true;
  if (e.code !== undefined && TRANSIENT_NETWORK_CODES.has(e.code)) return true;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  if (cause !== undefined && cause !== error) return isTransient(cause);
  // A RestError without status and without a recognised code is a send failure.
  return e.name === 'RestError' && status === undefined;
}

/**
 * 403 on a create: the identity may use the container/table but not create it, as with a role
 * scoped to the one table or container (least privilege: the resource is provisioned beforehand).
 */
export function isForbidden(error: unknown): boolean {
  return storageStatusCode(error) === 403;
}
