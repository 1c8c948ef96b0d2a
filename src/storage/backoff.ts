import { storageErrorCode, storageStatusCode } from './storage-errors.js';

/** Options of {@link backoffDelayMs}. */
export interface BackoffOptions {
  /** First delay's ceiling. @default 50 */
  baseMs?: number;
  /** Ceiling of any jittered delay (a server's retry-after may ask for longer). @default 2000 */
  capMs?: number;
  /** Floor of the jittered delay, so an unlucky draw is not a busy retry. @default 0 */
  minMs?: number;
  /** Random source in [0, 1). @default Math.random */
  random?: () => number;
}

interface ResponseLike {
  response?: { headers?: { get?(name: string): string | undefined } };
}

/**
 * How long the server asked us to wait, from `x-ms-retry-after-ms` (milliseconds) or `Retry-After`
 * (seconds, or an HTTP date), on a failed storage call's response. Undefined when it did not say.
 * `nowMs` is only used for the HTTP-date form.
 */
export function retryAfterMs(error: unknown, nowMs = Date.now()): number | undefined {
  const headers = (error as ResponseLike | undefined)?.response?.headers;
  if (typeof headers?.get !== 'function') return undefined;
  const ms = Number(headers.get('x-ms-retry-after-ms'));
  if (headers.get('x-ms-retry-after-ms') !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const retryAfter = headers.get('retry-after');
  if (retryAfter === undefined || retryAfter.trim() === '') return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(retryAfter);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * The server is shedding load: 429, 503 (ServerBusy) or 500 OperationTimedOut. Retrying at once
 * adds to the load that caused it, so these get exponential backoff and the server's retry-after.
 */
export function isThrottled(error: unknown): boolean {
  return isThrottledResponse(storageStatusCode(error), storageErrorCode(error));
}

/** {@link isThrottled} for an answer's status and `x-ms-error-code` (what the transaction counter sees). */
export function isThrottledResponse(status: number | undefined, errorCode: string | undefined): boolean {
  return status === 429 || status === 503 || (status === 500 && errorCode === 'OperationTimedOut');
}

/**
 * Delay before retry number `attempt` (0 for the first retry): exponential backoff with full jitter
 * (uniform in [0, min(cap, base·2^attempt)], so many nodes throttled together do not retry in
 * lockstep), and never shorter than the retry-after the server sent with `error`.
 */
export function backoffDelayMs(attempt: number, error: unknown, options: BackoffOptions = {}): number {
  const { baseMs = 50, capMs = 2000, minMs = 0, random = Math.random } = options;
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.max(minMs, random() * ceiling);
  return Math.max(jittered, retryAfterMs(error) ?? 0);
}
