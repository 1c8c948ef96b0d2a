import { sleep } from '../clock/index.js';
import { isTransient } from './storage-errors.js';

/**
 * Runs `call` until it succeeds, fails for good, or `deadline` aborts, retrying transient failures
 * with a short backoff (50 ms doubling, at most 500 ms). Meant for the last calls of a graceful stop
 * (lease release, leaving membership): there is no next loop turn to make up for a failure, and a
 * keep-alive socket the server has just closed (ECONNRESET) is common when many nodes stop at once.
 * Only for calls that are safe to repeat. Throws the last error.
 */
export async function retryTransient<T>(
  call: (signal: AbortSignal) => Promise<T>,
  deadline: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(deadline);
    } catch (error) {
      if (deadline.aborted || !isTransient(error)) throw error;
      await sleep(Math.min(50 * 2 ** attempt, 500), deadline);
    }
  }
}
