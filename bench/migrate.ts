/**
 * bench:migrate — files/s of `gossipless migrate` (dry run, in-process) over a generated tree of
 * thousands of files, mostly untouched and some with legacy imports, against an equivalent
 * jscodeshift transform measured in the same run (in-process too, same file list, no writes).
 *
 *   npm run bench:migrate -- [--files 4000] [--legacy-share 0.05] [--reps 3]
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import jscodeshift, { type API, type FileInfo } from 'jscodeshift';
import { migrate } from '../codemods/migrate/index.js';

const args = new Map<string, string>();
for (let index = 2; index < process.argv.length; index += 2) {
  args.set(process.argv[index]!.replace(/^--/, ''), process.argv[index + 1] ?? '');
}
const FILES = Number(args.get('files') ?? 4000);
const LEGACY_SHARE = Number(args.get('legacy-share') ?? 0.05);
const REPS = Number(args.get('reps') ?? 3);

const outDir = fileURLToPath(new URL('./.out/migrate-tree/', import.meta.url));

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

function generateTree(): string[] {
  rmSync(outDir, { recursive: true, force: true });
  const files: string[] = [];
  const legacyEvery = Math.max(1, Math.round(1 / LEGACY_SHARE));
  for (let index = 0; index < FILES; index++) {
    const relative = `packages/p${index % 40}/src/module-${index}.ts`;
    const file = path.join(outDir, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, index % legacyEvery === 0 ? legacyModule(index) : ordinaryModule(index));
    files.push(file);
  }
  return files;
}

const TRANSPORT_OPTIONS = new Set([
  'address',
  'broadcast',
  'multicast',
  'multicastTTL',
  'unicast',
  'reuseAddr',
  'exclusive',
]);
const SHIM = 'gossipless/shims/node-discover';

/**
 * The same rewrite written as a jscodeshift transform: import/require/re-export/dynamic import
 * specifiers of node-discover, and transport-only options at calls of the imported name.
 */
function jscodeshiftTransform(file: FileInfo, api: API, preCheck: boolean): string | undefined {
  if (preCheck && !file.source.includes('node-discover')) return undefined;
  const j = api.jscodeshift;
  const root = j(file.source);
  let changed = false;
  const locals = new Set<string>();
  root.find(j.ImportDeclaration, { source: { value: 'node-discover' } }).forEach((declaration) => {
    declaration.node.source.value = SHIM;
    for (const specifier of declaration.node.specifiers ?? []) {
      if (specifier.type === 'ImportDefaultSpecifier' && specifier.local)
        locals.add(String(specifier.local.name));
    }
    changed = true;
  });
  root.find(j.ExportNamedDeclaration, { source: { value: 'node-discover' } }).forEach((declaration) => {
    declaration.node.source!.value = SHIM;
    changed = true;
  });
  root.find(j.CallExpression, { callee: { name: 'require' } }).forEach((call) => {
    const [argument] = call.node.arguments;
    if (argument && argument.type === 'StringLiteral' && argument.value === 'node-discover') {
      argument.value = SHIM;
      changed = true;
    }
  });
  for (const kind of [j.CallExpression, j.NewExpression] as const) {
    root.find(kind as typeof j.CallExpression).forEach((call) => {
      const callee = call.node.callee;
      if (callee.type !== 'Identifier' || !locals.has(callee.name)) return;
      const [options] = call.node.arguments;
      if (!options || options.type !== 'ObjectExpression') return;
      const kept = options.properties.filter((property) => {
        const key = 'key' in property ? property.key : undefined;
        const name = key && key.type === 'Identifier' ? key.name : undefined;
        return !(name && TRANSPORT_OPTIONS.has(name));
      });
      if (kept.length !== options.properties.length) {
        options.properties = kept;
        changed = true;
      }
    });
  }
  return changed ? root.toSource({ quote: 'single' }) : undefined;
}

function runJscodeshift(files: readonly string[], preCheck: boolean): number {
  const j = jscodeshift.withParser('tsx');
  const api = { jscodeshift: j, j, stats: () => undefined, report: () => undefined } as unknown as API;
  let changed = 0;
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    if (jscodeshiftTransform({ path: file, source }, api, preCheck) !== undefined) changed++;
  }
  return changed;
}

async function runGossipless(): Promise<number> {
  const report = await migrate({ targetDir: outDir, write: false });
  return report.counts.changed;
}

async function measure(
  label: string,
  run: () => Promise<number> | number,
): Promise<{ label: string; seconds: number; changed: number }> {
  await run(); // warm-up: JIT, module loading, file cache
  const times: number[] = [];
  let changed = 0;
  for (let rep = 0; rep < REPS; rep++) {
    const start = performance.now();
    changed = await run();
    times.push((performance.now() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return { label, seconds: times[Math.floor(times.length / 2)]!, changed };
}

const files = generateTree();
console.log(
  `tree: ${FILES} files (${Math.ceil(FILES * LEGACY_SHARE)} with node-discover), median of ${REPS} runs after a warm-up; ` +
    `node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`,
);
const results = [
  await measure('gossipless migrate (dry run)', runGossipless),
  await measure('jscodeshift (tsx parser, every file)', () => runJscodeshift(files, false)),
  await measure('jscodeshift + same text pre-check', () => runJscodeshift(files, true)),
];
const anchor = results[1]!;
const rows = results.map((result) => ({
  tool: result.label,
  'changed files': result.changed,
  seconds: result.seconds.toFixed(2),
  'files/s': Math.round(FILES / result.seconds),
  'vs jscodeshift': `${(anchor.seconds / result.seconds).toFixed(1)}x`,
}));
console.table(rows);
