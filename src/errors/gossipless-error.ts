import { redact } from '../redact/index.js';

/**
 * Stable error codes. Scripts and callers branch on these, never on message text.
 */
export type GossiplessErrorCode =
  | 'INVALID_OPTIONS'
  | 'STORAGE_NOT_CONFIGURED'
  | 'STORAGE_UNAVAILABLE'
  | 'STORAGE_ERROR'
  | 'STORAGE_FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVALID_INPUT'
  | 'INVALID_RULES'
  | 'INVALID_CONFIG'
  | 'DIRTY_WORKTREE'
  | 'OUTSIDE_TARGET'
  | 'NOT_STARTED'
  | 'STOPPED'
  | 'AZURITE_FAILED'
  | 'ABORTED'
  | 'INTERNAL';

/** Options for {@link GossiplessError}. */
export interface GossiplessErrorOptions {
  /** The underlying error, kept for debugging; its message is redacted when shown. */
  cause?: unknown;
}

/**
 * The one error type gossipless throws. `message` is redacted at construction, so an account key,
 * SAS signature or connection string that reached it by accident never leaves.
 *
 * @example
 * ```ts
 * try { await connectStorage(); } catch (e) {
 *   if (e instanceof GossiplessError && e.code === 'STORAGE_NOT_CONFIGURED') { … }
 * }
 * ```
 */
export class GossiplessError extends Error {
  /** Stable machine-readable code. */
  readonly code: GossiplessErrorCode;

  constructor(code: GossiplessErrorCode, message: string, options: GossiplessErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GossiplessError';
    this.code = code;
  }
}

/** True when `value` is a {@link GossiplessError}, optionally with the given code. */
export function isGossiplessError(value: unknown, code?: GossiplessErrorCode): value is GossiplessError {
  return value instanceof GossiplessError && (code === undefined || value.code === code);
}
