/**
 * Child process of bench:migrate's speed rows: one tool in a fresh Node, a warm-up run (JIT, module
 * loading, file cache) and `reps` timed runs, printing one JSON line ({@link SpeedReport}). Started
 * by `measureSpeedInChild` (./memory.ts) on the compiled file, as
 *
 *   node migrate-speed-child.mjs <as-cli|defaults> <module> <export> <reps> [args…]
 *
 * where `<module>` exports `<export>`, a {@link SpeedWorkload}. With `as-cli`, the child first
 * applies the V8 heap setting the `gossipless` bin applies to `gossipless migrate`, with the bin's
 * own code and before the tool is loaded, as the bin does: the row runs as fast as it does for a
 * user. The anchors run with `defaults`: Node's own settings, as a user starts jscodeshift.
 *
 * Each row gets a fresh process, so no row runs in a heap another row grew.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { keepYoungGenerationSmall } from '../../src/cli/young-generation.js';

/** Prepares a tool once (`args` from the command line) and returns one run; a run returns the files it changed. */
export type SpeedWorkload = (args: readonly string[]) => () => Promise<number> | number;

/** The line the child prints. */
export interface SpeedReport {
  /** Wall time of each timed run, seconds, in run order (the warm-up excluded). */
  readonly seconds: number[];
  /** Files the last run changed (or would change). */
  readonly changed: number;
  /** Whether the bin's heap setting was applied. */
  readonly asCli: boolean;
}

const [mode, modulePath, exportName, repsText, ...args] = process.argv.slice(2);
if ((mode !== 'as-cli' && mode !== 'defaults') || !modulePath || !exportName || !repsText) {
  throw new Error('usage: migrate-speed-child.mjs <as-cli|defaults> <module> <export> <reps> [args…]');
}
const asCli = mode === 'as-cli' && keepYoungGenerationSmall(['migrate']);
if (mode === 'as-cli' && !asCli) {
  throw new Error('the bin did not apply its heap setting here (young generation flags in NODE_OPTIONS?)');
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
const report: SpeedReport = { seconds, changed, asCli };
process.stdout.write(`${JSON.stringify(report)}\n`);
