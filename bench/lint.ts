/**
 * bench:lint — files per second of `gossipless lint` on a large tree, with ast-grep (@ast-grep/napi)
 * finding bindingless/empty catch clauses on the same files as the anchor, in the same run.
 *
 * The tree: the JavaScript/TypeScript of several big packages from this repository's node_modules
 * (copied out, since the lint skips node_modules), plus a generated corpus of service code in which
 * a few files use discovery. Then each row runs once more in a fresh child process for its memory
 * (peak RSS, heap), and the gossipless rows again on a tree `--growth` times larger.
 * First, start-up rows: one CLI process per run on an empty folder and a 300-file service, for
 * gossipless, ESLint with the plugin and ast-grep's CLI, against `node -e 0` (needs `npm run build`).
 * Usage: `npm run bench:lint [-- --generated 4000 --runs 3 --growth 4 --service 300 --startup-only]`.
 */
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { lintSource, listLintTargets } from '../codemods/lint/index.js';
import { astGrepFindInFiles, astGrepParse } from './support/lint-ast-grep.js';
import { gossiplessLint, gossiplessWithoutPrefilter } from './support/lint-gossipless.js';
import { printStartupRows } from './support/lint-startup.js';
import {
  measureInChild,
  measureNodeAlone,
  printGrowthTable,
  printMemoryTable,
  writeFileList,
  type ChildReport,
} from './support/memory.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const GENERATED_FILES = argument('generated', 4000);
const RUNS = argument('runs', 3);
/** The gossipless memory rows run again on a tree this many times larger (1 = not at all). */
const GROWTH = argument('growth', 4);
/** Files of the small service the start-up rows lint (issue #18: ≤ 1 s for 300 files). */
const SERVICE_FILES = argument('service', 300);
/** `--startup-only`: just the start-up rows (quick on a shared machine). */
const STARTUP_ONLY = process.argv.includes('--startup-only');

/** Real code: the built output of big packages this repository already installs. */
const REAL_TREES = [
  'node_modules/azurite/dist',
  'node_modules/@azure/storage-blob/dist',
  'node_modules/@azure/identity/dist',
  'node_modules/@azure/data-tables/dist',
  'node_modules/eslint/lib',
  'node_modules/@typescript-eslint',
  'node_modules/typescript/lib',
];
const EXTENSIONS = new Set(['.ts', '.tsx', '.js', '.mjs', '.cjs']);

function copyReal(target: string, directory = 'real'): void {
  for (const tree of REAL_TREES) {
    const source = join(root, tree);
    const destination = join(
      target,
      directory,
      tree.replace(/^node_modules\//, '').replace(/node_modules/g, 'nm'),
    );
    cpSync(source, destination, {
      recursive: true,
      filter: (path) => {
        if (path !== source && /[/\\]node_modules([/\\]|$)/.test(path.slice(source.length))) return false;
        return statSync(path).isDirectory() || EXTENSIONS.has(extname(path));
      },
    });
  }
}

/** Deterministic pseudo-random numbers, so every run lints the same corpus. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

const NOUNS = [
  'Order',
  'Invoice',
  'Customer',
  'Shipment',
  'Payment',
  'Session',
  'Report',
  'Webhook',
  'Tenant',
];
const METHOD_BODIES = [
  (n: string) => `  async find${n}(id: string): Promise<${n} | undefined> {
    try {
      const row = await this.db.query('select * from ${n.toLowerCase()}s where id = $1', [id]);
      return row ? (JSON.parse(row.payload) as ${n}) : undefined;
    } catch (err) {
      this.logger.warn({ err, id }, 'could not load ${n.toLowerCase()}');
      return undefined;
    }
  }
`,
  (n: string) => `  async notify${n}(url: string, body: ${n}): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        await fetch(url, { method: 'POST', body: JSON.stringify(body) });
        return;
      } catch (error) {
        if (attempt === 3) throw new Error('webhook failed', { cause: error });
      }
    }
  }
`,
  (n: string) => `  validate${n}(input: unknown): input is ${n} {
    if (typeof input !== 'object' || input === null) return false;
    const record = input as Record<string, unknown>;
    return typeof record.id === 'string' && Number.isFinite(record.amount);
  }
`,
  (n: string) => `  summarize${n}s(items: ${n}[]): string {
    const total = items.reduce((sum, item) => sum + item.amount, 0);
    return items.map((item) => \`\${item.id}: \${item.amount}\`).join(', ') + \` (total \${total})\`;
  }
`,
];
const DISCOVERY_SNIPPETS = [
  `import dgram from 'node:dgram';
export const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
socket.bind(41234, () => {
  try {
    socket.addMembership('239.1.2.3');
  } catch (err) {
    console.warn('multicast unavailable', err);
  }
});
`,
  `import Discover from 'node-discover';
export let isMaster = false;
export const discovery = Discover({ helloInterval: 1000 }, (err) => {
  if (err) {
    isMaster = true;
  }
});
`,
  `import Swim from 'swim';
export const swim = new Swim({ local: { host: '0.0.0.0:7946' } });
swim.bootstrap([], (err?: Error) => {
  if (err) throw err;
});
`,
];

function generate(target: string, count: number): void {
  const next = random(42);
  for (let index = 0; index < count; index += 1) {
    const noun = NOUNS[index % NOUNS.length] ?? 'Order';
    const methods = Array.from({ length: 3 + Math.floor(next() * 6) }, (_, m) =>
      (METHOD_BODIES[Math.floor(next() * METHOD_BODIES.length)] ?? METHOD_BODIES[0]!)(`${noun}${m}`),
    );
    const discovery = next() < 0.03 ? (DISCOVERY_SNIPPETS[index % DISCOVERY_SNIPPETS.length] ?? '') : '';
    const text = `${discovery}import type { Db, Logger } from '../infra/index.js';

export interface ${noun} { id: string; amount: number; payload: string }

/** ${noun} service ${index}. */
export class ${noun}Service${index} {
  constructor(private readonly db: Db, private readonly logger: Logger) {}

${methods.join('\n')}}
`;
    const file = join(
      target,
      'generated',
      `module-${Math.floor(index / 100)}`,
      `${noun.toLowerCase()}-service-${index}.ts`,
    );
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

interface Measurement {
  readonly name: string;
  readonly files: number;
  readonly ms: number;
  readonly matches: number;
}

function best(name: string, run: () => { files: number; matches: number }): Measurement {
  let fastest = Number.POSITIVE_INFINITY;
  let last = { files: 0, matches: 0 };
  for (let index = 0; index < RUNS; index += 1) {
    const started = performance.now();
    last = run();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return { name, ms: fastest, ...last };
}

async function bestAsync(
  name: string,
  run: () => Promise<{ files: number; matches: number }>,
): Promise<Measurement> {
  let fastest = Number.POSITIVE_INFINITY;
  let last = { files: 0, matches: 0 };
  for (let index = 0; index < RUNS; index += 1) {
    const started = performance.now();
    last = await run();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return { name, ms: fastest, ...last };
}

async function main(): Promise<void> {
  const corpus = mkdtempSync(join(tmpdir(), 'gossipless-bench-lint-'));
  try {
    const service = join(corpus, 'service');
    generate(service, SERVICE_FILES);
    printStartupRows(root, corpus, service, SERVICE_FILES, RUNS);
    if (STARTUP_ONLY) return;
    rmSync(service, { recursive: true, force: true });
    copyReal(corpus);
    generate(corpus, GENERATED_FILES);
    const files = listLintTargets(['.'], corpus);
    const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
    // Warm the page cache and both parsers' code paths so the first tool measured is not penalised.
    for (const file of files) readFileSync(file, 'utf8');

    const results: Measurement[] = [];
    results.push(
      best('gossipless lint (walk + pre-filter + parse + rule)', () => {
        const { files: linted, matches } = gossiplessLint(corpus);
        return { files: linted, matches };
      }),
    );
    results.push(
      best('gossipless rule without the pre-filter (parse every file)', () =>
        gossiplessWithoutPrefilter(files),
      ),
    );
    results.push(
      best('ast-grep napi parse() per file, empty/bindingless catch (1 thread)', () => astGrepParse(files)),
    );
    results.push(
      await bestAsync('ast-grep napi findInFiles, empty/bindingless catch (native, all threads)', () =>
        astGrepFindInFiles(corpus, files.length),
      ),
    );

    const realCount = files.filter((file) => file.includes(`${join(corpus, 'real')}`)).length;
    console.log(
      `corpus: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB ` +
        `(${realCount} real files from ${REAL_TREES.length} package trees, ${files.length - realCount} generated); ` +
        `best of ${RUNS} runs; node ${process.version}`,
    );
    console.log('');
    console.log('| tool | files | time (ms) | files/s | matches |');
    console.log('|---|---:|---:|---:|---:|');
    for (const result of results) {
      const perSecond = Math.round((result.files / result.ms) * 1000);
      console.log(
        `| ${result.name} | ${result.files} | ${Math.round(result.ms)} | ${perSecond} | ${result.matches} |`,
      );
    }
    console.log('');
    console.log(
      'Every row reads the same directory. ast-grep matches are empty or bindingless catch clauses;',
    );
    console.log('gossipless matches are no-self-disabling-discovery findings.');
    memoryTables(corpus, files);
    falseAlarmScan();
  } finally {
    rmSync(corpus, { recursive: true, force: true });
  }
}

const GOSSIPLESS = fileURLToPath(new URL('./support/lint-gossipless.ts', import.meta.url));
const AST_GREP = fileURLToPath(new URL('./support/lint-ast-grep.ts', import.meta.url));

const CHECKPOINT_EVERY = 500;

interface GossiplessMemory {
  readonly lint: ChildReport;
  readonly noPrefilter: ChildReport;
}

/** The gossipless rows in fresh children, on the corpus as it is now; `checkpointEvery` as in memory-child.ts. */
function gossiplessMemory(corpus: string, files: readonly string[], checkpointEvery = 0): GossiplessMemory {
  const list = writeFileList(files);
  try {
    return {
      lint: measureInChild(GOSSIPLESS, 'lintWorkload', [corpus], checkpointEvery),
      noPrefilter: measureInChild(GOSSIPLESS, 'withoutPrefilterWorkload', [list.path], checkpointEvery),
    };
  } finally {
    list.remove();
  }
}

/**
 * Memory of every row, each once more in a fresh child; then the gossipless rows on a tree
 * {@link GROWTH} times larger (the real trees copied again, more generated files), to show whether
 * memory follows the tree size.
 */
function memoryTables(corpus: string, files: readonly string[]): void {
  const nodeAlone = measureNodeAlone();
  const idle = measureInChild('idle', 'idle');
  const gossipless = gossiplessMemory(corpus, files);
  const list = writeFileList(files);
  let parse: ChildReport;
  let findInFilesMemory: ChildReport;
  try {
    parse = measureInChild(AST_GREP, 'parseWorkload', [list.path]);
    findInFilesMemory = measureInChild(AST_GREP, 'findInFilesWorkload', [corpus, String(files.length)]);
  } finally {
    list.remove();
  }
  const anchor = { name: 'ast-grep napi parse() per file (1 thread)', memory: parse };
  console.log('');
  console.log(`memory, each row once in a fresh child process; anchor: ${anchor.name}`);
  console.log('');
  printMemoryTable(
    [
      { name: 'gossipless lint (walk + pre-filter + parse + rule)', memory: gossipless.lint },
      { name: 'gossipless rule without the pre-filter (parse every file)', memory: gossipless.noPrefilter },
      anchor,
      { name: 'ast-grep napi findInFiles (native, all threads)', memory: findInFilesMemory },
    ],
    { nodeAlone, idle },
    anchor,
    'ast-grep',
  );
  if (GROWTH <= 1) return;
  const checkpoints = gossiplessMemory(corpus, files, CHECKPOINT_EVERY);
  for (let copy = 2; copy <= GROWTH; copy += 1) copyReal(corpus, `real-${copy}`);
  generate(corpus, GENERATED_FILES * GROWTH);
  const larger = listLintTargets(['.'], corpus);
  for (const file of larger) readFileSync(file, 'utf8');
  const grown = gossiplessMemory(corpus, larger);
  const grownCheckpoints = gossiplessMemory(corpus, larger, CHECKPOINT_EVERY);
  console.log('');
  console.log(
    `memory growth: the same gossipless rows on a ${GROWTH}× tree (real trees copied ${GROWTH} times, ` +
      `${GENERATED_FILES * GROWTH} generated files)`,
  );
  console.log('');
  printGrowthTable(
    [
      {
        name: 'gossipless lint',
        small: gossipless.lint,
        large: grown.lint,
        smallCheckpoints: checkpoints.lint,
        largeCheckpoints: grownCheckpoints.lint,
      },
      {
        name: 'gossipless rule without the pre-filter',
        small: gossipless.noPrefilter,
        large: grown.noPrefilter,
        smallCheckpoints: checkpoints.noPrefilter,
        largeCheckpoints: grownCheckpoints.noPrefilter,
      },
    ],
    idle,
    CHECKPOINT_EVERY,
  );
}

/**
 * Precision check on real code that does no peer discovery: every JS/TS file of this repository's
 * node_modules (nested ones included; bundles over 3 MB left out). Any finding here is a false alarm.
 */
function falseAlarmScan(): void {
  const files: string[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (
        entry.isFile() &&
        EXTENSIONS.has(extname(entry.name)) &&
        statSync(path).size < 3 * 1024 * 1024
      ) {
        files.push(path);
      }
    }
  };
  walk(join(root, 'node_modules'));
  const started = performance.now();
  let parsed = 0;
  const findings: string[] = [];
  for (const file of files) {
    const result = lintSource(file, readFileSync(file, 'utf8'));
    if (result.parsed) parsed += 1;
    if (!('skipped' in result)) {
      for (const finding of result.findings) findings.push(`${file}:${finding.line}:${finding.column}`);
    }
  }
  const ms = performance.now() - started;
  console.log('');
  console.log(
    `false-alarm scan of node_modules: ${files.length} files, ${parsed} parsed after the pre-filter, ` +
      `${findings.length} findings, ${Math.round(ms)} ms (${Math.round((files.length / ms) * 1000)} files/s)`,
  );
  for (const finding of findings.slice(0, 20)) console.log(`  ${finding}`);
}

await main();
