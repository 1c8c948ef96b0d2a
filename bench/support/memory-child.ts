/**
 * Child process of the benches' memory figures: runs one workload once in a fresh Node and prints
 * one JSON line ({@link ChildReport}) on stdout. Started by `measureInChild` in `./memory.ts` as
 *
 *   node --expose-gc --import tsx bench/support/memory-child.ts <module> <export> [args…]
 *
 * where `<module>` exports `<export>`, a {@link Workload}. With `<module>` = `idle` nothing is
 * imported: that child is the baseline (Node + the tsx loader + this file) the other rows are read
 * against. This file imports nothing heavy itself, so the idle child carries no tool.
 */
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { exposedGc, finalReport, sampleHeapPeak } from './heap-sampler.js';

/** What a workload returns: the same counts the speed rows print, to show the child did that work. */
export interface WorkloadSummary {
  readonly files: number;
  readonly matches: number;
  /** Anything the tool hands back to its caller (a report): kept alive across the final GC. */
  readonly retained?: unknown;
}

/** One measured workload: `args` from the command line; `onFile` is called after each file. */
export type Workload = (
  args: readonly string[],
  onFile: () => void,
) => WorkloadSummary | Promise<WorkloadSummary>;

/** The line the child prints. */
export interface ChildReport {
  /**
   * Peak resident set size of this process since its exec, KiB: `VmHWM` of /proc/self/status.
   * Not `process.resourceUsage().maxRSS` on Linux: libuv starts children by fork, and exec keeps
   * the forked copy's high-water mark, so a child's maxRSS is at least the parent's RSS at spawn
   * (1.1 GiB after the speed rows here). Elsewhere, maxRSS.
   */
  readonly peakRssKiB: number;
  /** `process.resourceUsage().maxRSS` as reported, KiB (see {@link peakRssKiB}). */
  readonly maxRssKiB: number;
  /** Highest V8 heapUsed sampled after every file and every 5 ms the event loop was free, bytes. */
  readonly peakHeapBytes: number;
  /** V8 heapUsed after a forced full GC at the end, with the tool's result still referenced, bytes. */
  readonly liveHeapBytes: number;
  /**
   * With `MEMORY_CHECKPOINT_EVERY=n`: the largest heapUsed right after a forced full GC every n files,
   * i.e. what the tool keeps alive while it runs (the GCs lower the peaks, so such a child is not
   * used for them). 0 otherwise.
   */
  readonly maxCheckpointLiveBytes: number;
  /** The median of those checkpoints: unlike the max, not moved by one big file parsed just before. */
  readonly medianCheckpointLiveBytes: number;
  readonly files: number;
  readonly matches: number;
}

const [modulePath, exportName, ...args] = process.argv.slice(2);

const gc = exposedGc('memory-child.ts');
// Catches peaks while native code works off the JS thread (ast-grep's findInFiles) or between awaits.
const sampler = sampleHeapPeak();
const sample = sampler.sample;
const checkpointEvery = Number(process.env.MEMORY_CHECKPOINT_EVERY ?? 0);
const checkpointLive: number[] = [];
let filesDone = 0;
const onFile = (): void => {
  sample();
  filesDone += 1;
  if (checkpointEvery > 0 && filesDone % checkpointEvery === 0) {
    gc();
    checkpointLive.push(v8.getHeapStatistics().used_heap_size);
  }
};

let summary: WorkloadSummary = { files: 0, matches: 0 };
if (modulePath === undefined || exportName === undefined) {
  throw new Error('usage: memory-child.ts <module|idle> <export> [args…]');
}
if (modulePath !== 'idle') {
  const loaded = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  const workload = loaded[exportName];
  if (typeof workload !== 'function')
    throw new Error(`${modulePath} does not export a workload ${exportName}`);
  summary = await (workload as Workload)(args, onFile);
}
const report = finalReport(sampler, gc, {
  maxCheckpointLiveBytes: Math.max(0, ...checkpointLive),
  medianCheckpointLiveBytes: checkpointLive.sort((a, b) => a - b)[Math.floor(checkpointLive.length / 2)] ?? 0,
  files: summary.files,
  matches: summary.matches,
});
// Reading `retained` after the GC keeps it reachable through it.
if (summary.retained === Symbol.for('never')) process.stderr.write('');
process.stdout.write(`${JSON.stringify(report)}\n`);
