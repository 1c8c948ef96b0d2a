import { performance } from 'node:perf_hooks';

/**
 * The time source for safety logic. Lease timing uses only {@link Clock.monotonicNow}; wall time is
 * used for labels and for ordering bus row keys, never to compare two nodes' views of "now".
 * Tests inject a clock to skew or advance time.
 */
export interface Clock {
  /** Monotonic milliseconds (like `performance.now()`); never jumps backwards. */
  monotonicNow(): number;
  /** Wall-clock milliseconds since the epoch (like `Date.now()`), possibly skewed. */
  wallNow(): number;
}

/** The process's real clock. */
export const systemClock: Clock = {
  monotonicNow: () => performance.now(),
  wallNow: () => Date.now(),
};

/**
 * A clock whose wall time is offset from the real one by `offsetMs` (positive = ahead). Used to
 * simulate a node with a skewed clock; its monotonic time runs at the real rate.
 */
export function skewedClock(offsetMs: number, base: Clock = systemClock): Clock {
  return {
    monotonicNow: () => base.monotonicNow(),
    wallNow: () => base.wallNow() + offsetMs,
  };
}

/**
 * Reads the storage server's time from an HTTP `Date` header. Returns undefined when absent or
 * unparsable. Membership liveness is judged with this, never with the local clock.
 */
export function serverTimeFromDateHeader(dateHeader: string | undefined | null): number | undefined {
  if (!dateHeader) return undefined;
  const ms = Date.parse(dateHeader);
  return Number.isNaN(ms) ? undefined : ms;
}
