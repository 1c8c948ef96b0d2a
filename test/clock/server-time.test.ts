import { describe, expect, it } from 'vitest';
import { ServerTimeEstimate, type Clock } from '../../src/clock/index.js';

/**
 * A simulated node and storage server: the node's monotonic clock is advanced by hand; the
 * server's clock reads monotonic + offset (+ drift), and stamps each response's `Date` header,
 * truncated to the second, some time between the request's send and its receipt.
 */
class Simulation {
  monotonic = 10_000;
  offset = 1_764_000_000_000 + 123.4;
  /** Server clock rate error (server runs 1 + drift times as fast). */
  drift = 0;
  readonly clock: Clock = { monotonicNow: () => this.monotonic, wallNow: () => 0 };
  readonly estimate = new ServerTimeEstimate(this.clock);

  server(at = this.monotonic): number {
    return at + this.offset + this.drift * at;
  }

  /** One request: `up` ms to the server, `down` ms back. Observes with or without the send time. */
  request(up: number, down: number, withSendTime = true): void {
    const sent = this.monotonic;
    this.monotonic += up;
    const header = new Date(Math.floor(this.server() / 1000) * 1000).toUTCString();
    this.monotonic += down;
    this.estimate.observe(header, withSendTime ? sent : undefined);
  }

  error(): number {
    return this.estimate.now()! - this.server();
  }

  /**
   * `n` requests of 3 ms each way, `pause` ms apart: 612 ms + the round trip is a golden-ratio step
   * through the server's second, so the phases spread evenly as they would under jittered timers.
   */
  sweep(n: number, withSendTime = true, pause = 612): void {
    for (let i = 0; i < n; i++) {
      this.request(3, 3, withSendTime);
      this.monotonic += pause;
    }
  }
}

describe('ServerTimeEstimate', () => {
  it('is undefined before any response, and falls back to the local clock', () => {
    const estimate = new ServerTimeEstimate({ monotonicNow: () => 5, wallNow: () => 42 });
    expect(estimate.now()).toBeUndefined();
    expect(estimate.bounds()).toBeUndefined();
    expect(estimate.uncertaintyMs()).toBeUndefined();
    expect(estimate.nowOrLocal()).toBe(42);
    estimate.observe(undefined);
    estimate.observe('not a date', 1);
    expect(estimate.now()).toBeUndefined();
  });

  it('after one response, brackets the server clock within the header second plus the round trip', () => {
    const sim = new Simulation();
    sim.request(20, 20);
    const bounds = sim.estimate.bounds()!;
    expect(bounds.lower).toBeLessThanOrEqual(sim.server());
    expect(bounds.upper).toBeGreaterThan(sim.server());
    expect(sim.estimate.uncertaintyMs()).toBeCloseTo((1000 + 40) / 2, 0);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(520);
  });

  it('converges to within a few ms after responses at varied phases of the server second', () => {
    const sim = new Simulation();
    sim.sweep(1);
    expect(Math.abs(sim.error())).toBeGreaterThan(100); // one header alone is far off here
    for (let i = 0; i < 20; i++) {
      sim.sweep(1);
      const bounds = sim.estimate.bounds()!;
      expect(bounds.lower).toBeLessThanOrEqual(sim.server());
      expect(bounds.upper).toBeGreaterThan(sim.server());
    }
    // ~1000 ms / n + the round trip: the phases nearest each edge of the second bound it.
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(30);
    expect(sim.estimate.uncertaintyMs()).toBeLessThanOrEqual(30);
    sim.sweep(80);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(10);
    expect(sim.estimate.uncertaintyMs()).toBeLessThanOrEqual(15);
    expect(sim.estimate.restarts).toBe(0);
  });

  it('converges with asymmetric, jittery latency and keeps the truth inside its bounds', () => {
    const sim = new Simulation();
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 60; i++) {
      sim.request(1 + random() * 30, 1 + random() * 10);
      sim.monotonic += 200 + random() * 800;
      const bounds = sim.estimate.bounds()!;
      expect(bounds.lower).toBeLessThanOrEqual(sim.server());
      expect(bounds.upper).toBeGreaterThan(sim.server());
    }
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(30);
  });

  it('with no send times learns only a lower bound, and still converges on the receive side', () => {
    const sim = new Simulation();
    sim.request(5, 5, false);
    expect(sim.estimate.bounds()!.upper).toBe(Infinity);
    expect(sim.estimate.uncertaintyMs()).toBe(Infinity);
    // One header: the old rule, header + 500 ms.
    expect(sim.estimate.now()).toBe(Math.floor((sim.server() - 5) / 1000) * 1000 + 500);
    for (let i = 0; i < 100; i++) {
      sim.sweep(1, false);
      expect(sim.estimate.bounds()!.lower).toBeLessThanOrEqual(sim.server());
    }
    // Centred on "stamped on arrival": behind by about the return latency (3 ms here).
    expect(sim.error()).toBeLessThanOrEqual(5);
    expect(sim.error()).toBeGreaterThanOrEqual(-15);
  });

  it('keeps the old call form working alongside send times (a lower bound only tightens)', () => {
    const sim = new Simulation();
    for (let i = 0; i < 60; i++) sim.sweep(1, i % 2 === 0);
    expect(Number.isFinite(sim.estimate.uncertaintyMs())).toBe(true);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(20);
    expect(sim.estimate.restarts).toBe(0);
  });

  it('restarts from the newest response when the server clock steps forward', () => {
    const sim = new Simulation();
    sim.sweep(40);
    sim.offset += 5000;
    sim.request(3, 3);
    expect(sim.estimate.restarts).toBe(1);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(510);
    sim.sweep(60);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(15);
  });

  it('does not restart when two servers whose clocks differ by 40 ms answer in turn', () => {
    const sim = new Simulation();
    const base = sim.offset;
    for (let i = 0; i < 200; i++) {
      sim.offset = base + (i % 2 === 0 ? 0 : 40);
      sim.sweep(1);
    }
    expect(sim.estimate.restarts).toBe(0);
    sim.offset = base + 20;
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(30);
    expect(sim.estimate.uncertaintyMs()).toBeLessThanOrEqual(40);
  });

  it('follows a step back of the server clock larger than a second', () => {
    const sim = new Simulation();
    sim.sweep(40);
    const before = sim.estimate.now()!;
    sim.offset -= 5000;
    sim.request(3, 3);
    expect(sim.estimate.restarts).toBe(1);
    expect(sim.estimate.now()!).toBeLessThan(before - 3000);
    sim.sweep(60);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(15);
  });

  it('detects a step back without send times too', () => {
    const sim = new Simulation();
    sim.sweep(40, false);
    sim.offset -= 5000;
    sim.request(3, 3, false);
    expect(sim.estimate.restarts).toBe(1);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(510);
  });

  it('never moves backwards by less than a second, then catches up with the narrowed estimate', () => {
    const sim = new Simulation();
    // Phase chosen so the first midpoint is ~400 ms ahead of the server: the next header pulls it back.
    sim.offset = 1_764_000_000_000 - sim.monotonic + 100 - 3;
    sim.request(3, 3);
    expect(sim.error()).toBeGreaterThan(300);
    let previous = -Infinity;
    let heldBack = 0;
    for (let i = 0; i < 4000; i++) {
      sim.monotonic += 7;
      if (i % 89 === 0) sim.request(3, 3);
      const now = sim.estimate.now()!;
      expect(now).toBeGreaterThanOrEqual(previous);
      if (now === previous) heldBack++;
      previous = now;
    }
    expect(heldBack).toBeGreaterThan(0);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(15);
  });

  it('absorbs a small step back of the server clock without going backwards', () => {
    const sim = new Simulation();
    sim.sweep(40);
    let previous = sim.estimate.now()!;
    sim.offset -= 300;
    for (let i = 0; i < 60; i++) {
      sim.sweep(1);
      const now = sim.estimate.now()!;
      expect(now).toBeGreaterThanOrEqual(previous);
      previous = now;
    }
    // Contradictions of up to 100 ms move the interval rather than restart it: the step is
    // walked over in such moves, then narrowed again.
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(30);
  });

  it('tolerates slow drift between the server clock and the monotonic clock without restarting', () => {
    const sim = new Simulation();
    sim.drift = 50e-6; // 50 ppm: 180 ms an hour
    for (let i = 0; i < 400; i++) {
      sim.request(3, 3);
      sim.monotonic += 9_618; // about an hour in all
      const bounds = sim.estimate.bounds()!;
      expect(bounds.lower).toBeLessThanOrEqual(sim.server());
      expect(bounds.upper).toBeGreaterThan(sim.server());
    }
    expect(sim.estimate.restarts).toBe(0);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(20);
  });

  it('suggests when to probe: requests sent then narrow it in a handful of round trips', () => {
    const probed = new Simulation();
    let probes = 0;
    probed.request(3, 3);
    for (
      let delay = probed.estimate.msUntilProbe();
      delay !== undefined;
      delay = probed.estimate.msUntilProbe()
    ) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(1000);
      probed.monotonic += delay;
      probed.request(3, 3);
      probes++;
      expect(probes).toBeLessThan(20);
    }
    expect(probed.estimate.uncertaintyMs()).toBeLessThanOrEqual(25);
    expect(Math.abs(probed.error())).toBeLessThanOrEqual(25);
    // The same number of requests at evenly spread phases leaves it much wider.
    const spread = new Simulation();
    spread.sweep(probes + 1);
    expect(spread.estimate.uncertaintyMs()).toBeGreaterThan(2 * probed.estimate.uncertaintyMs()!);
  });

  it('accepts a Date object (blob SDK responses parse the header) and ignores a send time after receipt', () => {
    const sim = new Simulation();
    const header = new Date(Math.floor(sim.server() / 1000) * 1000);
    sim.estimate.observe(header, sim.monotonic + 50);
    expect(sim.estimate.bounds()!.upper).toBe(Infinity);
    expect(Math.abs(sim.error())).toBeLessThanOrEqual(1000);
  });
});
