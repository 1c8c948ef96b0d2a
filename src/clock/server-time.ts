import type { Clock } from './clock.js';
import { serverTimeFromDateHeader } from './clock.js';

/**
 * An estimate of the storage server's clock, from the `Date` headers of its responses plus
 * monotonic time elapsed since. Bus row keys use it, so a node whose own clock is minutes off
 * still writes keys in the server's order.
 */
export class ServerTimeEstimate {
  readonly #clock: Clock;
  #serverAtObservation: number | undefined;
  #monotonicAtObservation = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Records a response's `Date` header (1 s resolution, truncated: the true time is up to 1 s later). */
  observe(dateHeader: string | undefined | null): void {
    const server = serverTimeFromDateHeader(dateHeader);
    if (server === undefined) return;
    const estimate = server + 500;
    const monotonic = this.#clock.monotonicNow();
    // Never move the estimate backwards by less than the header's resolution: a later header that
    // reads the same second would otherwise pull the estimate back and reorder our own keys.
    const current = this.now();
    if (current !== undefined && estimate < current && current - estimate < 1000) return;
    this.#serverAtObservation = estimate;
    this.#monotonicAtObservation = monotonic;
  }

  /** Estimated server time in ms since the epoch, or undefined before the first response. */
  now(): number | undefined {
    if (this.#serverAtObservation === undefined) return undefined;
    return this.#serverAtObservation + (this.#clock.monotonicNow() - this.#monotonicAtObservation);
  }

  /** Estimated server time, falling back to the local wall clock before any response. */
  nowOrLocal(): number {
    return this.now() ?? this.#clock.wallNow();
  }
}
