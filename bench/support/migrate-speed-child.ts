/**
 * Child process of bench:migrate's speed rows: one tool in a fresh Node, a warm-up run (JIT, module
 * loading, file cache) and `reps` timed runs, printing one JSON line ({@link SpeedReport}). Started
 * by `measureSpeedInChild` (./memory.ts) on the compiled file, as
 *
 *   node migrate-speed-child.mjs <as-cli|defaults> <module> <export> <reps> [args…]
 *
 * where `<module>` exports `<export>`, a {@link SpeedWorkload}. With `as-cli`, the child first
 * sets the V8 flags the `gossipless` bin sets for `gossipless migrate`, with the bin's own code and
 * before the tool is loaded, as the bin does: the row runs as fast as it does for a user. The
 * anchors run with `defaults`: Node's own settings, as a user starts jscodeshift.
 *
 * Each row gets a fresh process, so no row runs in a heap another row grew.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { applyBatchV8Flags } from '../../src/cli/batch-v8-flags.js';

/** Prepares a tool once (`args` from the command line) and returns one run; a run returns the files it changed. */
export type SpeedWorkload = (args: readonly string[]) => () => Promise<number> | number;

/** The line the child prints. */
export interface SpeedReport {
  /** Wall time of each timed run, seconds, in run order (the warm-up excluded). */
  readonly seconds: number[];
  /** Files the last run changed (or would change). */
  readonly changed: number;
  /** The V8 flags the bin's code set (none with `defaults`). */
  readonly v8Flags: string[];
}

const [mode, modulePath, exportName, repsText, ...args] = process.argv.slice(2);
if ((mode !== 'as-cli' && mode !== 'defaults') || !modulePath || !exportName || !repsText) {
  throw new Error('usage: migrate-speed-child.mjs <as-cli|defaults> <module> <export> <reps> [args…]');
}
const v8Flags = mode === 'as-cli' ? applyBatchV8Flags(['migrate']) : [];
if (mode === 'as-cli' && v8Flags.length === 0) {
  throw new Error(
    "the bin's V8 flags were not set here (flags of your own in NODE_OPTIONS or on the command line?)",
  );
}
const loaded = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
const prepare = loaded[exportName];
if (typeof prepare !== 'function')
  throw new Error(`${modulePath} does not export a speed workload ${exportName}`);
const run = (prepare as SpeedWorkload)(args);

let changed = await run();
const seconds: number[] = [];
for (let rep = 0; rep < Number(repsText); rep++) {
  const start = performance.now();
  changed = await run();
  seconds.push((performance.now() - start) / 1000);
}
const report: SpeedReport = { seconds, changed, v8Flags };
process.stdout.write(`${JSON.stringify(report)}\n`);
