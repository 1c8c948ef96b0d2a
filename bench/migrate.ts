/**
 * bench:migrate — files/s of `gossipless migrate` (dry run) over a generated tree of thousands of
 * files, mostly untouched and some with legacy imports, against an equivalent jscodeshift transform
 * (same file list, no writes), measured in the same run.
 *
 * Speed: each row in a fresh child process on code compiled ahead, plain Node: a warm-up, then the
 * median of `--reps` runs in that process. gossipless' child first sets the V8 flags the
 * `gossipless` bin sets for `gossipless migrate` (src/cli/batch-v8-flags.ts); the anchors run
 * with Node's defaults, as their users start them.
 *
 * Memory: each row once more in a fresh child. First in plain Node: the built `gossipless` bin
 * itself, started as the installed bin is (`npm run build` first), the library call in a harness,
 * and the anchors; then under tsx; and the library row again on a tree `--growth` times larger.
 *
 *   npm run bench:migrate -- [--files 4000] [--legacy-share 0.05] [--reps 3] [--growth 4]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureSpeedInChild } from './support/migrate-speed.js';
import {
  compileChildren,
  measureInChild,
  measureNodeAlone,
  measureProgramInChild,
  type ChildReport,
  type CompiledChildren,
  printGrowthTable,
  printMemoryTable,
  writeFileList,
} from './support/memory.js';

const args = new Map<string, string>();
for (let index = 2; index < process.argv.length; index += 2) {
  args.set(process.argv[index]!.replace(/^--/, ''), process.argv[index + 1] ?? '');
}
const FILES = Number(args.get('files') ?? 4000);
const LEGACY_SHARE = Number(args.get('legacy-share') ?? 0.05);
const REPS = Number(args.get('reps') ?? 3);
/** The gossipless memory row runs again on a tree this many times larger (1 = not at all). */
const GROWTH = Number(args.get('growth') ?? 4);

const outDir = fileURLToPath(new URL('./.out/migrate-tree/', import.meta.url));
const largerOutDir = fileURLToPath(new URL('./.out/migrate-tree-larger/', import.meta.url));

// An ordinary service module (~60 lines): types, a class, async functions, imports of other modules.
function ordinaryModule(index: number): string {
  return `import { EventEmitter } from 'node:events';
import type { Logger } from '../logging/logger-${index % 17}.js';

export interface Order${index} {
  id: string;
  customerId: string;
  lines: { sku: string; quantity: number; priceCents: number }[];
  createdAt: Date;
}

/** Keeps the orders of one shard in memory and emits when one changes. */
export class OrderStore${index} extends EventEmitter {
  private readonly orders = new Map<string, Order${index}>();

  constructor(private readonly logger: Logger) {
    super();
  }

  upsert(order: Order${index}): void {
    const previous = this.orders.get(order.id);
    this.orders.set(order.id, order);
    this.emit(previous ? 'updated' : 'created', order);
    this.logger.debug(\`order \${order.id} stored\`);
  }

  totalCents(id: string): number {
    const order = this.orders.get(id);
    if (!order) return 0;
    return order.lines.reduce((sum, line) => sum + line.quantity * line.priceCents, 0);
  }

  byCustomer(customerId: string): Order${index}[] {
    return [...this.orders.values()].filter((order) => order.customerId === customerId);
  }
}

export async function loadOrders${index}(fetchPage: (page: number) => Promise<Order${index}[]>): Promise<Order${index}[]> {
  const all: Order${index}[] = [];
  for (let page = 0; ; page++) {
    const batch = await fetchPage(page);
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

export const DEFAULT_PAGE_SIZE_${index} = ${(index % 9) + 1} * 50;
`;
}

function legacyModule(index: number): string {
  return `import Discover from 'node-discover';
import { EventEmitter } from 'node:events';

const discover = Discover({
  port: 12345,
  key: process.env.CLUSTER_KEY,
  multicast: '239.1.1.${index % 250}',
  multicastTTL: 1,
  reuseAddr: true,
});

export class Leader${index} extends EventEmitter {
  isLeader = false;
  constructor() {
    super();
    discover.on('promotion', () => {
      this.isLeader = true;
      this.emit('leader');
    });
    discover.on('demotion', () => {
      this.isLeader = false;
    });
  }
}
`;
}

function generateTree(directory: string, count: number): string[] {
  rmSync(directory, { recursive: true, force: true });
  const files: string[] = [];
  const legacyEvery = Math.max(1, Math.round(1 / LEGACY_SHARE));
  for (let index = 0; index < count; index++) {
    const relative = `packages/p${index % 40}/src/module-${index}.ts`;
    const file = path.join(directory, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, index % legacyEvery === 0 ? legacyModule(index) : ordinaryModule(index));
    files.push(file);
  }
  return files;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GOSSIPLESS = fileURLToPath(new URL('./support/migrate-gossipless.ts', import.meta.url));
const JSCODESHIFT = fileURLToPath(new URL('./support/migrate-jscodeshift.ts', import.meta.url));
const SPEED_CHILD = fileURLToPath(new URL('./support/migrate-speed-child.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('./support/memory-probe.ts', import.meta.url));
/** The bin as npm installs it (package.json "bin"), built by `npm run build`. */
const BIN = path.join(ROOT, 'dist', 'src', 'cli', 'bin.js');

const files = generateTree(outDir, FILES);
console.log(
  `tree: ${FILES} files (${Math.ceil(FILES * LEGACY_SHARE)} with node-discover), median of ${REPS} runs after a warm-up, ` +
    `each row in a fresh process; node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`,
);
const list = writeFileList(files);
const compiled = await compileChildren([GOSSIPLESS, JSCODESHIFT, SPEED_CHILD, PROBE]);
const compiledFile = (source: string): string => compiled.modules.get(source)!;
const speed = (label: string, module: string, exportName: string, workloadArgs: string[], asCli: boolean) =>
  measureSpeedInChild(
    label,
    compiledFile(SPEED_CHILD),
    compiledFile(module),
    exportName,
    REPS,
    workloadArgs,
    asCli,
  );
const results = [
  speed('gossipless migrate (dry run)', GOSSIPLESS, 'migrateSpeedWorkload', [outDir], true),
  speed(
    'jscodeshift (tsx parser, every file)',
    JSCODESHIFT,
    'jscodeshiftSpeedWorkload',
    [list.path, 'every-file'],
    false,
  ),
  speed(
    'jscodeshift + same text pre-check',
    JSCODESHIFT,
    'jscodeshiftSpeedWorkload',
    [list.path, 'pre-check'],
    false,
  ),
];
// The fair anchor is the pre-checked jscodeshift: a user writing that transform would skip files
// that never name the legacy module, as gossipless does. Against every-file jscodeshift the ratio
// flatters gossipless (that column is labelled so).
const everyFile = results[1]!;
const fair = results[2]!;
const rows = results.map((result) => ({
  tool: result.label,
  'changed files': result.changed,
  seconds: result.seconds.toFixed(2),
  'files/s': Math.round(FILES / result.seconds),
  'vs pre-checked jscodeshift (fair)': `${(fair.seconds / result.seconds).toFixed(2)}x`,
  'vs every-file jscodeshift (flattering)': `${(everyFile.seconds / result.seconds).toFixed(1)}x`,
}));
console.table(rows);

// Memory: each row once more in a fresh child process. First in plain Node on code compiled ahead
// (as both tools run for their users: the fair table), gossipless as its built bin; then under the
// tsx loader, as the earlier tables of docs/migrate.md were measured.
const nodeAlone = measureNodeAlone();
console.log('');
console.log('building the package for the bin row (npm run build)…');
const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
if (built.status !== 0) throw new Error(`npm run build failed: ${built.stdout}${built.stderr}`);

/** `gossipless migrate <tree>` as a user runs it: the bin's peak, and the counts from its summary line. */
function measureBin(tree = outDir): ChildReport {
  const { memory, stdout } = measureProgramInChild(compiledFile(PROBE), BIN, ['migrate', tree]);
  const summary = /migrate: (\d+) changed, (\d+) unchanged, (\d+) skipped, (\d+) errors/.exec(stdout);
  if (summary === null) throw new Error(`gossipless migrate printed no summary: ${stdout.slice(-500)}`);
  const [changed, unchanged, skipped, errors] = summary.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  return { ...memory, files: changed + unchanged + skipped + errors, matches: changed };
}

/**
 * Prints the memory table of one loader; returns the idle baseline, the gossipless row it measured
 * in the harness and, in plain Node, the bin's.
 */
function memoryTable(loader: CompiledChildren | undefined): {
  idle: ChildReport;
  gossipless: ChildReport;
  bin: ChildReport | undefined;
} {
  const measure = (module: string, workload: string, workloadArgs: string[]): ChildReport =>
    measureInChild(module, workload, workloadArgs, 0, loader);
  const idle = measure('idle', 'idle', []);
  const binMemory = loader === undefined ? undefined : measureBin();
  const gossiplessMemory = measure(GOSSIPLESS, 'migrateWorkload', [outDir]);
  const anchorMemory = {
    name: 'jscodeshift + same text pre-check',
    memory: measure(JSCODESHIFT, 'jscodeshiftWorkload', [list.path, 'pre-check']),
  };
  const everyFileMemory = measure(JSCODESHIFT, 'jscodeshiftWorkload', [list.path, 'every-file']);
  const childCommand = loader === undefined ? 'node --expose-gc --import tsx' : 'node --expose-gc';
  const how = loader === undefined ? 'under the tsx loader' : 'plain Node, code compiled ahead by esbuild';
  console.log('');
  console.log(`memory, each row once in a fresh child process (${how}); anchor (fair): ${anchorMemory.name}`);
  console.log('');
  printMemoryTable(
    [
      ...(binMemory === undefined
        ? []
        : [
            { name: 'gossipless migrate (dry run): the bin, as `npx gossipless migrate`', memory: binMemory },
          ]),
      {
        name:
          loader === undefined
            ? 'gossipless migrate (dry run): migrate() in the harness'
            : "migrate() in the harness (library call: without the bin's V8 flags)",
        memory: gossiplessMemory,
      },
      anchorMemory,
      { name: 'jscodeshift (tsx parser, every file)', memory: everyFileMemory },
    ],
    {
      nodeAlone,
      idle,
      idleLabel:
        loader === undefined
          ? 'idle child (Node + tsx loader + harness, no tool)'
          : 'idle child (Node + harness, no tool)',
      childCommand,
    },
    anchorMemory,
    'pre-checked jscodeshift',
  );
  return { idle, gossipless: gossiplessMemory, bin: binMemory };
}

// The growth table reads the plain-Node row against its idle child (the same run, not measured again).
const { idle, gossipless: small, bin: binRow } = memoryTable(compiled);
const bin = binRow!;
memoryTable(undefined);
list.remove();
if (GROWTH > 1) {
  const CHECKPOINT_EVERY = 500;
  const measure = (directory: string, checkpointEvery = 0): ChildReport =>
    measureInChild(GOSSIPLESS, 'migrateWorkload', [directory], checkpointEvery, compiled);
  const checkpoints = measure(outDir, CHECKPOINT_EVERY);
  generateTree(largerOutDir, FILES * GROWTH);
  const larger = measure(largerOutDir);
  const largerCheckpoints = measure(largerOutDir, CHECKPOINT_EVERY);
  const largerBin = measureBin(largerOutDir);
  rmSync(largerOutDir, { recursive: true, force: true });
  console.log('');
  console.log(
    `memory growth: gossipless migrate() on a ${GROWTH}× tree (${FILES * GROWTH} files, same ${LEGACY_SHARE * 100} % legacy), plain Node`,
  );
  console.log('');
  printGrowthTable(
    [
      {
        name: 'migrate() in the harness (library call)',
        small,
        large: larger,
        smallCheckpoints: checkpoints,
        largeCheckpoints: largerCheckpoints,
      },
    ],
    idle,
    CHECKPOINT_EVERY,
  );
  console.log('');
  console.log(
    `the bin (\`gossipless migrate\`, as in the first memory table) on the ${GROWTH}× tree: ${largerBin.files} files, ` +
      `peak RSS ${Math.round(largerBin.peakRssKiB / 1024)} MiB (${Math.round(bin.peakRssKiB / 1024)} MiB on ${bin.files})`,
  );
}
compiled.remove();
