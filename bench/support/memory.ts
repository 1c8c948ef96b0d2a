/**
 * Memory figures for the benches. The speed rows run one after the other in one process, so the
 * heap and RSS of one would pollute the next; each memory row therefore runs its workload once more
 * in a fresh child Node process (`./memory-child.ts`), next to two baselines: Node alone, and an
 * idle child (Node + the harness, no tool) that every row is read against.
 *
 * A child runs either under the tsx loader (the default), or in plain Node on code compiled ahead
 * by {@link compileChildren}, as both kinds of tool run for their users. tsx's CommonJS hook scans
 * every required `.js` file for ES syntax in WebAssembly memory that never shrinks, which charges a
 * tool for the size of its dependencies' source (9 MB for the TypeScript compiler).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { ChildReport } from './memory-child.js';
import { NODE_BUNDLE_OPTIONS } from '../../test/support/node-bundle.js';

export type { ChildReport } from './memory-child.js';

const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const ROOT = join(dirname(CHILD), '..', '..');

/** The same JSON line as memory-child.ts, from a Node that loads nothing at all. */
const NODE_ALONE = `const v8 = require('node:v8'); globalThis.gc();
const hwm = /^VmHWM:\\s*(\\d+) kB$/m.exec(process.platform === 'linux' ? require('node:fs').readFileSync('/proc/self/status', 'utf8') : '');
process.stdout.write(JSON.stringify({ peakRssKiB: hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS, maxRssKiB: process.resourceUsage().maxRSS,
  peakHeapBytes: v8.getHeapStatistics().used_heap_size, liveHeapBytes: v8.getHeapStatistics().used_heap_size,
  maxCheckpointLiveBytes: 0, medianCheckpointLiveBytes: 0, files: 0, matches: 0 }) + '\\n');`;

function parseChild(label: string, result: ReturnType<typeof spawnSync>): ChildReport {
  const stdout = String(result.stdout ?? '');
  const last = stdout.trim().split('\n').pop() ?? '';
  if (result.status !== 0 || !last.startsWith('{')) {
    throw new Error(`memory child "${label}" failed (exit ${result.status}): ${String(result.stderr ?? '')}`);
  }
  return JSON.parse(last) as ChildReport;
}

/** Node with no script, no loader: the floor. */
export function measureNodeAlone(): ChildReport {
  const result = spawnSync(process.execPath, ['--expose-gc', '-e', NODE_ALONE], { encoding: 'utf8' });
  return parseChild('node alone', result);
}

/** The harness and workload modules compiled for plain Node by {@link compileChildren}. */
export interface CompiledChildren {
  /** The compiled harness (memory-child). */
  readonly child: string;
  /** Source path of each workload module → its compiled file. */
  readonly modules: ReadonlyMap<string, string>;
  remove(): void;
}

/**
 * Compiles the harness and the given workload modules (TypeScript, with the tsconfig's paths) into
 * one ES module each, under bench/.out so that packages still resolve from node_modules, which stay
 * external: what a tool loads from its dependencies is loaded as in production.
 */
export async function compileChildren(modules: readonly string[]): Promise<CompiledChildren> {
  const parent = join(ROOT, 'bench', '.out');
  mkdirSync(parent, { recursive: true });
  const outdir = mkdtempSync(join(parent, 'memory-children-'));
  await build({
    ...NODE_BUNDLE_OPTIONS,
    entryPoints: [CHILD, ...modules],
    outdir,
    outbase: ROOT,
    outExtension: { '.js': '.mjs' },
    target: `node${process.versions.node.split('.')[0]}`,
    logLevel: 'warning',
  });
  const compiled = (source: string): string => join(outdir, relative(ROOT, source)).replace(/\.ts$/, '.mjs');
  return {
    child: compiled(CHILD),
    modules: new Map(modules.map((source) => [source, compiled(source)])),
    remove: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/**
 * Runs `exportName` of `modulePath` once in a fresh `node --expose-gc --import tsx` (or, with
 * `compiled`, a plain `node --expose-gc` on the compiled files) and returns its memory;
 * `modulePath` = `idle` measures the harness alone.
 */
export function measureInChild(
  modulePath: string,
  exportName: string,
  args: readonly string[] = [],
  checkpointEvery = 0,
  compiled?: CompiledChildren,
): ChildReport {
  let harness = ['--import', 'tsx', CHILD, modulePath];
  if (compiled !== undefined) {
    const module = modulePath === 'idle' ? 'idle' : compiled.modules.get(modulePath);
    if (module === undefined) throw new Error(`${modulePath} was not compiled for the memory children`);
    harness = [compiled.child, module];
  }
  const result = spawnSync(process.execPath, ['--expose-gc', ...harness, exportName, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, MEMORY_CHECKPOINT_EVERY: String(checkpointEvery) },
  });
  return parseChild(`${modulePath}#${exportName}`, result);
}

/**
 * Runs a program the way its users start it (`node <program> [args…]`: its own main module, its own
 * settings, its own output) with bench/support/memory-probe.ts preloaded, which reports the process'
 * memory when it exits. `probe` is the compiled probe ({@link compileChildren}). Returns the memory
 * (files and matches 0: read them from the output) and the program's stdout and exit status.
 */
export function measureProgramInChild(
  probe: string,
  program: string,
  args: readonly string[],
): { memory: ChildReport; stdout: string; status: number | null } {
  const directory = mkdtempSync(join(tmpdir(), 'gossipless-bench-probe-'));
  const reportFile = join(directory, 'memory.json');
  try {
    const result = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', pathToFileURL(probe).href, program, ...args],
      {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, MEMORY_PROBE_REPORT: reportFile },
      },
    );
    let report: string;
    try {
      report = readFileSync(reportFile, 'utf8');
    } catch {
      throw new Error(
        `${program} ${args.join(' ')} ended without a memory report (exit ${result.status}): ${String(result.stderr)}`,
      );
    }
    return {
      memory: JSON.parse(report) as ChildReport,
      stdout: String(result.stdout),
      status: result.status,
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Writes a file list for children (they must not walk with a tool's code); returns its path. */
export function writeFileList(files: readonly string[]): { path: string; remove: () => void } {
  const directory = mkdtempSync(join(tmpdir(), 'gossipless-bench-files-'));
  const path = join(directory, 'files.json');
  writeFileSync(path, JSON.stringify(files));
  return { path, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

const MIB = 1024 * 1024;
const mib = (bytes: number): string => `${Math.round(bytes / MIB)} MiB`;
const ratio = (value: number, anchor: number): string =>
  anchor > 0 ? `${(value / anchor).toFixed(value / anchor < 10 ? 2 : 1)}×` : 'n/a';

/** One row of the memory table. */
export interface MemoryRow {
  readonly name: string;
  readonly memory: ChildReport;
}

/**
 * Prints the memory table as Markdown: peak RSS, RSS above the idle child, both as ratios against
 * the anchor row, the sampled peak heap and the live heap after the final GC.
 */
export function printMemoryTable(
  rows: readonly MemoryRow[],
  baselines: { nodeAlone: ChildReport; idle: ChildReport; idleLabel?: string; childCommand?: string },
  anchor: MemoryRow,
  anchorLabel: string,
): void {
  const idleRss = baselines.idle.peakRssKiB * 1024;
  const above = (memory: ChildReport): number => memory.peakRssKiB * 1024 - idleRss;
  console.log(
    `| row | files | peak RSS | RSS − idle child | peak RSS vs ${anchorLabel} | above idle vs ${anchorLabel} | peak heap | live heap after GC |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const baseline = (name: string, memory: ChildReport): void =>
    console.log(
      `| ${name} | – | ${mib(memory.peakRssKiB * 1024)} | – | – | – | ${mib(memory.peakHeapBytes)} | ${mib(memory.liveHeapBytes)} |`,
    );
  baseline('Node alone (`node -e`)', baselines.nodeAlone);
  baseline(baselines.idleLabel ?? 'idle child (Node + tsx loader + harness, no tool)', baselines.idle);
  for (const { name, memory } of rows) {
    console.log(
      `| ${name} | ${memory.files} | ${mib(memory.peakRssKiB * 1024)} | ${mib(above(memory))} | ` +
        `${ratio(memory.peakRssKiB, anchor.memory.peakRssKiB)} | ${ratio(above(memory), above(anchor.memory))} | ` +
        `${mib(memory.peakHeapBytes)} | ${mib(memory.liveHeapBytes)} |`,
    );
  }
  console.log('');
  console.log(
    `Each row ran once more in a fresh child (\`${baselines.childCommand ?? 'node --expose-gc --import tsx'}\`). Peak RSS: the child's VmHWM\n` +
      "(/proc/self/status; its resourceUsage().maxRSS would include the parent's RSS, inherited through fork).\n" +
      'Peak heap: V8 heapUsed sampled after every file and every 5 ms the event loop was free, garbage not yet\n' +
      "collected included. Live heap: heapUsed after a forced full GC at the end, with the tool's result still\n" +
      "referenced. Native memory (e.g. ast-grep's trees and threads) shows in RSS only.",
  );
}

/** One row of the growth table: the normal children, and children that GC at checkpoints. */
export interface GrowthRow {
  readonly name: string;
  readonly small: ChildReport;
  readonly large: ChildReport;
  /** Children run with a forced GC every `checkpointEvery` files (their peaks are not used). */
  readonly smallCheckpoints: ChildReport;
  readonly largeCheckpoints: ChildReport;
}

/** Prints how the memory of the same rows grew from one tree size to another. */
export function printGrowthTable(
  pairs: readonly GrowthRow[],
  idle: ChildReport,
  checkpointEvery: number,
): void {
  const idleRss = idle.peakRssKiB * 1024;
  console.log(
    `| row | files | peak RSS − idle child | peak heap | live heap every ${checkpointEvery} files, median | max | live heap at end |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const { name, small, large, smallCheckpoints, largeCheckpoints } of pairs) {
    const smallAbove = small.peakRssKiB * 1024 - idleRss;
    const largeAbove = large.peakRssKiB * 1024 - idleRss;
    const cell = (a: string, b: string, grew: string): string => `${a} → ${b} (${grew})`;
    console.log(
      `| ${name} | ${small.files} → ${large.files} (${ratio(large.files, small.files)}) | ` +
        `${cell(mib(smallAbove), mib(largeAbove), ratio(largeAbove, smallAbove))} | ` +
        `${cell(mib(small.peakHeapBytes), mib(large.peakHeapBytes), ratio(large.peakHeapBytes, small.peakHeapBytes))} | ` +
        `${cell(
          mib(smallCheckpoints.medianCheckpointLiveBytes),
          mib(largeCheckpoints.medianCheckpointLiveBytes),
          ratio(largeCheckpoints.medianCheckpointLiveBytes, smallCheckpoints.medianCheckpointLiveBytes),
        )} | ${cell(
          mib(smallCheckpoints.maxCheckpointLiveBytes),
          mib(largeCheckpoints.maxCheckpointLiveBytes),
          ratio(largeCheckpoints.maxCheckpointLiveBytes, smallCheckpoints.maxCheckpointLiveBytes),
        )} | ${mib(small.liveHeapBytes)} → ${mib(large.liveHeapBytes)} |`,
    );
  }
  console.log('');
  console.log(
    `Live heap every ${checkpointEvery} files: heapUsed right after a forced full GC every ${checkpointEvery} files ` +
      '(what the tool keeps alive as it goes), in separate children so the GCs do not lower the RSS figures.',
  );
}
