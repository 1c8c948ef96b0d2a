/**
 * The parent side of bench:migrate's speed rows: runs one row in a fresh child
 * (./migrate-speed-child.ts, compiled) and returns the median of its timed runs.
 */
import { spawnSync } from 'node:child_process';
import type { SpeedReport } from './migrate-speed-child.js';

/** One speed row, as measured. */
export interface SpeedRow {
  readonly label: string;
  /** The V8 flags the bin's code set in the child (none for the anchors). */
  readonly v8Flags: readonly string[];
  /** Median wall time of the timed runs, seconds. */
  readonly seconds: number;
  readonly changed: number;
}

/**
 * Runs `exportName` of the compiled `module` in a fresh `node <speedChild>`: a warm-up and `reps`
 * timed runs. `asCli`: with the V8 flags the `gossipless` bin sets for `gossipless migrate`
 * (gossipless' row), or with Node's defaults (the anchors).
 */
export function measureSpeedInChild(
  label: string,
  speedChild: string,
  module: string,
  exportName: string,
  reps: number,
  args: readonly string[],
  asCli: boolean,
): SpeedRow {
  const result = spawnSync(
    process.execPath,
    [speedChild, asCli ? 'as-cli' : 'defaults', module, exportName, String(reps), ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const last = String(result.stdout).trim().split('\n').pop() ?? '';
  if (result.status !== 0 || !last.startsWith('{')) {
    throw new Error(`speed child "${label}" failed (exit ${result.status}): ${String(result.stderr)}`);
  }
  const report = JSON.parse(last) as SpeedReport;
  const sorted = [...report.seconds].sort((a, b) => a - b);
  return {
    label,
    seconds: sorted[Math.floor(sorted.length / 2)]!,
    changed: report.changed,
    v8Flags: report.v8Flags,
  };
}
