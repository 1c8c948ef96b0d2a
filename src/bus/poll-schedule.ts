import type { ResolvedTableBusTimings } from './table-bus-options.js';

/** The timings a {@link PollSchedule} follows. */
export type PollTimings = Pick<
  ResolvedTableBusTimings,
  'pollIntervalMs' | 'idlePollIntervalMs' | 'quietAfterMs' | 'pollJitter' | 'random'
>;

/**
 * When a subscriber polls next: at `pollIntervalMs` while messages flow, then, after
 * `quietAfterMs` without a message, publish or nudge, a pause that doubles with each quiet poll up
 * to `idlePollIntervalMs` (issue 11: an idle node polled 3,600 times an hour). Azure Functions'
 * queue trigger backs off the same way. Any activity brings it back to the fast interval at once.
 */
export class PollSchedule {
  readonly #timings: PollTimings;
  readonly #now: () => number;
  #nominalMs: number;
  #lastActivityAt: number;

  /** @param now - Monotonic time in ms. */
  constructor(timings: PollTimings, now: () => number) {
    this.#timings = timings;
    this.#now = now;
    this.#nominalMs = timings.pollIntervalMs;
    this.#lastActivityAt = now();
  }

  /** The current pause between polls, before jitter. */
  get nominalMs(): number {
    return this.#nominalMs;
  }

  /** Something happened (a message delivered, a local publish, a subscription, a nudge): poll fast again. */
  activity(): void {
    this.#nominalMs = this.#timings.pollIntervalMs;
    this.#lastActivityAt = this.#now();
  }

  /** Records a poll: one that delivered something is activity; a quiet one backs off once the spell is long enough. */
  afterPoll(delivered: boolean): void {
    if (delivered) return this.activity();
    if (this.#now() - this.#lastActivityAt < this.#timings.quietAfterMs) return;
    this.#nominalMs = Math.min(this.#timings.idlePollIntervalMs, this.#nominalMs * 2);
  }

  /** The pause before the next poll: the nominal pause shortened by up to `pollJitter` of it, never lengthened. */
  nextPauseMs(): number {
    return this.#nominalMs * (1 - this.#timings.pollJitter * this.#timings.random());
  }
}
