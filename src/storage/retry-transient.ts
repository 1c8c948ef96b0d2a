import { sleep } from '../clock/index.js';
import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import { isTransient } from './storage-errors.js';

/** Options of {@link retryTransient}. */
export interface RetryTransientOptions extends BackoffOptions {
  /** Waits between attempts; tests inject one. @default sleep */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs `call` until it succeeds, fails for good, or `deadline` aborts, retrying transient failures
 * with {@link backoffDelayMs} (honouring a throttled server's retry-after). Meant for the last calls
 * of a graceful stop (lease release, leaving membership): there is no next loop turn to make up for
 * a failure, and a keep-alive socket the server has just closed (ECONNRESET) is common when many
 * nodes stop at once. Only for calls that are safe to repeat. Throws the last error.
 */
export async function retryTransient<T>(
  call: (signal: AbortSignal) => Promise<T>,
  deadline: AbortSignal,
  options: RetryTransientOptions = {},
): Promise<T> {
  const wait = options.sleep ?? ((ms: number, signal: AbortSignal) => sleep(ms, signal));
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(deadline);
    } catch (error) {
      if (deadline.aborted || !isTransient(error)) throw error;
      await wait(backoffDelayMs(attempt, error, { capMs: 500, ...options }), deadline);
      if (deadline.aborted) throw error;
    }
  }
}
