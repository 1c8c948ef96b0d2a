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
