import type { Clock } from './clock.js';
import { serverTimeFromDateHeader } from './clock.js';

/**
 * How fast the kept bounds widen with the time since they were set, in ms per ms (100 ppm): more
 * than the rate error of any sane pair of quartz clocks, so slow drift between the server's clock
 * and our monotonic clock never makes the true offset fall outside the interval.
 */
const DRIFT_PER_MS = 100e-6;
/** The `Date` header's resolution: it is truncated to the second. */
const RESOLUTION_MS = 1000;
/**
 * A backwards move of the estimate smaller than this is absorbed (the estimate holds still until
 * the new one catches up); a larger one means the server's clock stepped, and is followed.
 */
const MAX_HELD_BACK_MS = 1000;
/**
 * An observation that contradicts the interval by at most this much is taken as a disagreement
 * between the storage service's servers, whose clocks are synchronised but not identical, rather
 * than as a step of the clock: the interval moves to span the gap instead of restarting (which
 * would throw away everything learnt, again and again, each time two servers answered in turn).
 */
const MAX_MERGED_GAP_MS = 100;
/**
 * Without send times, an observation whose latest possible server time lies this far below the
 * kept lower bound means the server's clock stepped back (latency alone cannot explain it).
 */
const LOWER_ONLY_STEP_MS = 1000;

/** The interval the storage server's clock is known to lie in, in ms since the epoch. */
export interface ServerTimeBounds {
  /** The server's clock reads at least this now. */
  lower: number;
  /** The server's clock reads less than this now; `Infinity` until a response with a send time is observed. */
  upper: number;
}

/**
 * An estimate of the storage server's clock, from the `Date` headers of its responses plus
 * monotonic time elapsed since. Bus row keys, singleton ticks and the limiter shim's windows use
 * it, so a node whose own clock is minutes off still follows the server's clock.
 *
 * Each header is truncated to the second, so one response says little (±500 ms). Many say more,
 * as in NTP with the truncation as the uncertainty: a response to a request sent at monotonic `s`,
 * received at `r`, with header second `H`, was stamped at some moment in `[s, r]` when the server's
 * clock read in `[H, H + 1000)`. So the offset `server − monotonic` lies in
 * `[H − r, H + 1000 − s]`. The estimate keeps the intersection of these intervals (each bound
 * widened by 100 ppm of its age, for drift) and reports its midpoint. Responses at varied phases of
 * the server's second narrow it to about the round-trip time. An observation that contradicts the
 * interval by more than 100 ms (the server's clock stepped, or a bad sample) restarts it from that
 * observation; a smaller contradiction (two servers whose clocks differ a little) moves the
 * interval onto the gap between them.
 *
 * {@link now} never moves backwards by less than a second: a narrowed interval whose midpoint is
 * behind what was already returned holds the estimate still until it catches up, so callers that
 * key rows by it (the bus) keep their order.
 */
export class ServerTimeEstimate {
  readonly #clock: Clock;
  /** Lower bound of the offset (server − monotonic) and the monotonic time it was set. */
  #lower: { offset: number; at: number } | undefined;
  /** Upper bound of the offset, from responses with a send time. */
  #upper: { offset: number; at: number } | undefined;
  /**
   * The upper bound as if each response had been stamped the moment it arrived (`H + 1000 − r`):
   * not a guarantee, only what the estimate centres on while no send time is known.
   */
  #assumedUpper: { offset: number; at: number } | undefined;
  /** The last value {@link now} returned. */
  #lastNow: number | undefined;
  /** Round trip of the last response observed with a send time. */
  #lastRoundTrip = 0;
  #restarts = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * The monotonic clock this estimate runs on. Take a request's send time from it, just before
   * the call, and pass it to {@link observe} with the response's header.
   */
  monotonicNow(): number {
    return this.#clock.monotonicNow();
  }

  /**
   * Records a response's `Date` header (1 s resolution, truncated: the true time is up to 1 s later).
   *
   * @param dateHeader - The response's `Date` header; absent or unparsable headers are ignored.
   * @param requestStartedAt - {@link monotonicNow} taken before the request was sent. Without it
   *   only a lower bound is learnt (the response cannot have been stamped after it arrived).
   *   A time taken before an earlier attempt or an earlier page is still a valid, looser bound.
   */
  observe(dateHeader: string | Date | undefined | null, requestStartedAt?: number): void {
    const header = dateHeader instanceof Date ? dateHeader.getTime() : serverTimeFromDateHeader(dateHeader);
    if (header === undefined || !Number.isFinite(header)) return;
    const received = this.#clock.monotonicNow();
    const sent =
      requestStartedAt !== undefined && Number.isFinite(requestStartedAt) && requestStartedAt <= received
        ? requestStartedAt
        : undefined;
    const lower = header - received;
    const upper = sent === undefined ? undefined : header + RESOLUTION_MS - sent;
    if (sent !== undefined) this.#lastRoundTrip = received - sent;
    const assumedUpper = header + RESOLUTION_MS - received;

    const keptLower = this.#widened(this.#lower, -1, received);
    const keptUpper = this.#widened(this.#upper, +1, received);
    const restart = (): void => {
      if (keptLower !== undefined) this.#restarts++;
      this.#lower = { offset: lower, at: received };
      this.#upper = upper === undefined ? undefined : { offset: upper, at: received };
      this.#assumedUpper = { offset: assumedUpper, at: received };
    };
    if (keptLower === undefined) return restart();
    if (keptUpper !== undefined && lower > keptUpper) {
      // The server's clock reads later than we thought possible. A small gap is a disagreement
      // between servers (blob and table front ends keep their own clocks): keep the gap itself as
      // the interval, between the two views. A large one is a step: start again from this response.
      if (lower - keptUpper > MAX_MERGED_GAP_MS) return restart();
      this.#lower = { offset: keptUpper, at: received };
      this.#upper = { offset: lower, at: received };
    } else if (upper !== undefined && upper < keptLower) {
      if (keptLower - upper > MAX_MERGED_GAP_MS) return restart();
      this.#lower = { offset: upper, at: received };
      this.#upper = { offset: keptLower, at: received };
    } else if (keptUpper === undefined && assumedUpper < keptLower - LOWER_ONLY_STEP_MS) {
      // Without send times a step back shows only as a header far below what we know.
      return restart();
    } else {
      if (lower >= keptLower) this.#lower = { offset: lower, at: received };
      if (upper !== undefined && (keptUpper === undefined || upper <= keptUpper)) {
        this.#upper = { offset: upper, at: received };
      }
    }
    const keptAssumed = this.#widened(this.#assumedUpper, +1, received);
    const newLower = this.#lower!.offset;
    // The assumed bound is no guarantee: latency can put it below a true lower bound. Then the
    // newest observation's own assumption is the best there is.
    if (keptAssumed === undefined || assumedUpper <= keptAssumed || keptAssumed < newLower) {
      this.#assumedUpper = { offset: Math.max(assumedUpper, newLower), at: received };
    }
  }

  /**
   * Estimated server time in ms since the epoch, or undefined before the first response. Never
   * moves backwards by less than a second (see the class comment); a larger step back of the
   * server's clock is followed.
   */
  now(): number | undefined {
    const estimate = this.#estimate();
    if (estimate === undefined) return undefined;
    const last = this.#lastNow;
    if (last !== undefined && estimate < last && last - estimate < MAX_HELD_BACK_MS) return last;
    this.#lastNow = estimate;
    return estimate;
  }

  /** Estimated server time, falling back to the local wall clock before any response. */
  nowOrLocal(): number {
    return this.now() ?? this.#clock.wallNow();
  }

  /**
   * The interval the server's clock lies in now (drift allowance included), or undefined before
   * the first response. `upper` is `Infinity` while no observation carried a send time.
   */
  bounds(): ServerTimeBounds | undefined {
    const at = this.#clock.monotonicNow();
    const lower = this.#widened(this.#lower, -1, at);
    if (lower === undefined) return undefined;
    const upper = this.#widened(this.#upper, +1, at);
    return { lower: at + lower, upper: upper === undefined ? Infinity : at + upper };
  }

  /**
   * Half the width of {@link bounds}: how far the midpoint estimate can be from the server's clock
   * (ignoring a hold-back by {@link now}). Undefined before the first response, `Infinity` while no
   * observation carried a send time. About 500 ms after one response, down to about half the
   * round-trip time after responses at varied phases of the server's second.
   */
  uncertaintyMs(): number | undefined {
    const bounds = this.bounds();
    return bounds === undefined ? undefined : (bounds.upper - bounds.lower) / 2;
  }

  /**
   * How long to wait before sending a request whose response would narrow the interval most, or
   * undefined when it is already narrow (uncertainty ≤ `narrowEnoughMs`) or nothing is known yet.
   *
   * A response only narrows the interval if the server stamps it close to one of its second
   * boundaries: then the truncated header says on which side the stamp fell. So the best moment
   * is when the estimate, plus half the last round trip, crosses a second; each such response
   * roughly halves the uncertainty. The target is spread at random over the current uncertainty,
   * so the nodes of a cluster do not all send at the same instant. Callers with a periodic request
   * (the bus poll) bring it forward by up to a second to hit this moment, until the estimate is narrow.
   *
   * @param narrowEnoughMs - Below this uncertainty no probe is suggested. @default 25
   * @param random - Random source in [0, 1). @default Math.random
   * @returns Milliseconds in [0, 1000).
   */
  msUntilProbe(narrowEnoughMs = 25, random: () => number = Math.random): number | undefined {
    const estimate = this.#estimate();
    const uncertainty = this.uncertaintyMs();
    if (estimate === undefined || uncertainty === undefined || uncertainty <= narrowEnoughMs)
      return undefined;
    const spread = Math.min(uncertainty, RESOLUTION_MS / 2);
    const target = (random() - 0.5) * spread;
    const phase = (estimate + this.#lastRoundTrip / 2) % RESOLUTION_MS;
    return (((target - phase) % RESOLUTION_MS) + RESOLUTION_MS) % RESOLUTION_MS;
  }

  /** How often an observation contradicted the kept interval and restarted it (a clock step, a bad sample). */
  get restarts(): number {
    return this.#restarts;
  }

  #estimate(): number | undefined {
    const at = this.#clock.monotonicNow();
    const lower = this.#widened(this.#lower, -1, at);
    if (lower === undefined) return undefined;
    const upper = this.#widened(this.#upper, +1, at) ?? this.#widened(this.#assumedUpper, +1, at) ?? lower;
    return at + (lower + Math.max(lower, upper)) / 2;
  }

  #widened(bound: { offset: number; at: number } | undefined, sign: 1 | -1, at: number): number | undefined {
    if (bound === undefined) return undefined;
    return bound.offset + sign * DRIFT_PER_MS * Math.max(0, at - bound.at);
  }
}
