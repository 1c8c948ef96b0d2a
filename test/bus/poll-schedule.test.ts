import { describe, expect, it } from 'vitest';
import { resolveTableBusTimings } from '../../src/bus/index.js';
import { PollSchedule } from '../../src/bus/poll-schedule.js';

function schedule(random = () => 0): { s: PollSchedule; advance: (ms: number) => void } {
  let now = 0;
  const timings = resolveTableBusTimings({ random });
  return { s: new PollSchedule(timings, () => now), advance: (ms) => void (now += ms) };
}

/** Pauses of quiet polls from now on, each poll taking no time. */
function quietPauses(s: PollSchedule, advance: (ms: number) => void, n: number): number[] {
  const pauses: number[] = [];
  for (let i = 0; i < n; i++) {
    s.afterPoll(false);
    const pause = s.nextPauseMs();
    pauses.push(pause);
    advance(pause);
  }
  return pauses;
}

describe('PollSchedule (bus polling that backs off while idle)', () => {
  it('polls every 500 ms for 3 s after activity, then doubles each quiet poll up to 30 s', () => {
    const { s, advance } = schedule();
    const pauses = quietPauses(s, advance, 16);
    expect(pauses.slice(0, 6)).toEqual([500, 500, 500, 500, 500, 500]);
    expect(pauses.slice(6, 12)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000]);
    // An idle hour: about 120 polls (3,600 s / 30 s), against 7,200 at a fixed 500 ms.
    expect(Math.max(...pauses)).toBe(30_000);
  });

  it('returns to 500 ms at once when a poll delivers, or on a publish, subscription or nudge', () => {
    const { s, advance } = schedule();
    quietPauses(s, advance, 12);
    expect(s.nominalMs).toBe(30_000);
    s.afterPoll(true);
    expect(s.nextPauseMs()).toBe(500);
    quietPauses(s, advance, 12);
    s.activity();
    expect(s.nextPauseMs()).toBe(500);
  });

  it('jitter only shortens a pause, by at most 5 % by default', () => {
    const { s: low, advance: a1 } = schedule(() => 0.999_999);
    const { s: high, advance: a2 } = schedule(() => 0);
    quietPauses(low, a1, 14);
    quietPauses(high, a2, 14);
    expect(low.nextPauseMs()).toBeGreaterThanOrEqual(30_000 * 0.95);
    expect(high.nextPauseMs()).toBe(30_000);
  });

  it('refuses an idle interval below the fast one, and a jitter outside [0, 1)', () => {
    expect(() => resolveTableBusTimings({ pollIntervalMs: 1000, idlePollIntervalMs: 500 })).toThrow(
      /idlePollIntervalMs \(500\) must be at least pollIntervalMs \(1000\)/,
    );
    expect(() => resolveTableBusTimings({ pollJitter: 1 })).toThrow(/pollJitter/);
  });
});
