import { GossiplessError } from '../errors/index.js';
import { redactUnknown } from '../redact/index.js';
import { isTransient } from './storage-errors.js';

/**
 * A failed storage call as the error users see: `STORAGE_UNAVAILABLE` when retrying may help,
 * `STORAGE_ERROR` otherwise, with `what` named and the cause's text redacted (SDK messages can carry
 * SAS tokens and keys). A {@link GossiplessError} passes through unchanged.
 *
 * @param what - What failed, e.g. `lease renew on cluster auth`; ` failed: <cause>` is appended.
 */
export function storageFailure(what: string, error: unknown): GossiplessError {
  if (error instanceof GossiplessError) return error;
  return new GossiplessError(
    isTransient(error) ? 'STORAGE_UNAVAILABLE' : 'STORAGE_ERROR',
    `${what} failed: ${redactUnknown(error)}`,
    { cause: error },
  );
}
