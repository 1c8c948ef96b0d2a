import type { LeaderObservation } from './leader-observer.js';
import type { ReplicaEvent } from './replica-process.js';

/** What `gossipless demo` found; written to `summary.json`. */
export interface DemoSummary {
  /** True when the story held: one sweep per tick after migration and epochs increasing. */
  storyHeld: boolean;
  /** Why it did not, in words (empty when it held). */
  problems: string[];
  isolation: { kind: 'netns' | 'ports'; description: string };
  sweepEveryMs: number;
  legacy: {
    replicas: number;
    /** Complete ticks observed. */
    ticks: number;
    /** Sweeps per tick, averaged over complete ticks (3 = every replica sweeps). */
    sweepsPerTick: number;
    /** Replicas that ran at least one sweep (each believed it was master). */
    replicasThatSwept: number;
  };
  lint: { findings: number; errors: number; locations: string[] };
  migrate: { filesChanged: number; rateLimitsExtracted: number; needsHuman: number };
  migrated: {
    replicas: number;
    /** Ticks in steady state (not the tick of a failover). */
    steadyTicks: number;
    /** Sweeps per tick in steady state: min and max (1 and 1 when the story holds). */
    minSweepsPerTick: number;
    maxSweepsPerTick: number;
    /** Ticks with more than one sweep anywhere in the run, handovers included. */
    ticksWithDuplicateSweeps: number;
  };
  failover: {
    crash: { killed: string; newLeader: string; ms: number; epochBefore: number; epochAfter: number };
    graceful: { stopped: string; newLeader: string; ms: number; epochAfter: number };
  };
  /** Lease holders observed, in order, with their epochs. */
  epochs: Array<{ replica: string; epoch: number }>;
  edge: { targets: string[]; files: string[]; exitCode: number };
  reportDir: string;
  /** Timeline, for the SVG. */
  timeline: {
    legacy: { start: number; end: number; events: ReplicaEvent[] };
    migrated: {
      start: number;
      end: number;
      events: ReplicaEvent[];
      marks: Array<{ t: number; label: string }>;
    };
  };
}

/** Sweeps per tick, over the ticks fully inside [from, to). */
export function sweepsPerTick(
  events: ReplicaEvent[],
  everyMs: number,
  from: number,
  to: number,
): Map<number, number> {
  const firstTick = Math.ceil(from / everyMs);
  const lastTick = Math.floor(to / everyMs) - 1;
  const counts = new Map<number, number>();
  for (let tick = firstTick; tick <= lastTick; tick++) counts.set(tick, 0);
  for (const e of events) {
    if (e.event !== 'sweep' || e.tick === undefined || !counts.has(e.tick)) continue;
    counts.set(e.tick, counts.get(e.tick)! + 1);
  }
  return counts;
}

/**
 * Sweeps per tick in steady state, one count per tick. Each leader term is given as
 * `[its first sweep, the next fault]`; it counts from the tick after that first sweep (the tick of a
 * handover is not steady: the old leader may have swept in it before it stopped) to the last tick
 * that ended before the fault.
 */
export function steadySweepsPerTick(
  events: ReplicaEvent[],
  everyMs: number,
  terms: Array<[firstSweep: number, nextFault: number]>,
): number[] {
  const nextTickStart = (t: number): number => (Math.floor(t / everyMs) + 1) * everyMs;
  return terms.flatMap(([firstSweep, nextFault]) => [
    ...sweepsPerTick(events, everyMs, nextTickStart(firstSweep), nextFault).values(),
  ]);
}

/**
 * Each epoch seen on the lease, named by the replica whose `promoted` line is nearest in time: the
 * lease records the shim's node id, the summary speaks of replicas.
 */
export function epochsByReplica(
  observations: LeaderObservation[],
  events: ReplicaEvent[],
): Array<{ replica: string; epoch: number }> {
  const promotions = events.filter((e) => e.event === 'promoted');
  const epochs: Array<{ replica: string; epoch: number }> = [];
  // Epoch 0 is a lease just acquired whose epoch is not written yet (DESIGN: acquire, then write).
  for (const o of observations.filter((x) => x.isHeld && x.epoch > 0)) {
    if (epochs.at(-1)?.epoch === o.epoch) continue;
    const nearest = [...promotions].sort((a, b) => Math.abs(a.t - o.t) - Math.abs(b.t - o.t))[0];
    epochs.push({ replica: nearest?.replica ?? o.holder ?? '?', epoch: o.epoch });
  }
  return epochs;
}
