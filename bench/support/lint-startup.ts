/**
 * Start-up rows of bench:lint: wall time of one whole CLI process (start-up included), the way a CI
 * step runs it, on an empty folder and on a small service, for `gossipless lint`, ESLint with the
 * gossipless plugin (typescript-eslint parser) and ast-grep's CLI (an empty-catch pattern, all
 * threads). `node -e 0` on the same machine in the same run is the anchor: the ratio column is what
 * survives a busy machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** One tool's command line for a target folder. */
interface Tool {
  readonly name: string;
  readonly argv: (target: string) => readonly string[];
}

function wall(argv: readonly string[]): number {
  const started = performance.now();
  const result = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  const elapsed = performance.now() - started;
  if (result.error) throw result.error;
  return elapsed;
}

/**
 * Best of `runs` per tool and tree, the tools taking turns within each run so that a change of load
 * on a shared machine hits every row alike.
 */
function bestWalls(
  tools: readonly Tool[],
  targets: { empty: string; service: string },
  runs: number,
): { name: string; empty: number; service: number }[] {
  const rows = tools.map((tool) => ({
    name: tool.name,
    empty: Number.POSITIVE_INFINITY,
    service: Number.POSITIVE_INFINITY,
  }));
  for (let run = 0; run < runs; run += 1) {
    tools.forEach((tool, index) => {
      const row = rows[index]!;
      row.empty = Math.min(row.empty, wall(tool.argv(targets.empty)));
      row.service = Math.min(row.service, wall(tool.argv(targets.service)));
    });
  }
  return rows;
}

/**
 * Prints the start-up table. `root` is the repository (for `dist/` and `node_modules/`), `scratch`
 * a folder to create the empty tree and the ESLint config in, `service` the small service tree.
 */
export function printStartupRows(
  root: string,
  scratch: string,
  service: string,
  fileCount: number,
  runs: number,
): void {
  const bin = join(root, 'dist/src/cli/bin.js');
  if (!existsSync(bin)) {
    console.log('\nstart-up rows skipped: run `npm run build` first (they time the built CLI).');
    return;
  }
  const empty = join(scratch, 'empty');
  mkdirSync(empty, { recursive: true });
  const config = join(scratch, 'eslint.config.mjs');
  writeFileSync(
    config,
    `import tseslint from ${JSON.stringify(join(root, 'node_modules/typescript-eslint/dist/index.js'))};\n` +
      `import gossipless from ${JSON.stringify(join(root, 'dist/codemods/lint/eslint-plugin.js'))};\n` +
      `export default [{ files: ['**/*.{ts,js,mjs,cjs}'], languageOptions: { parser: tseslint.parser },\n` +
      `  plugins: { gossipless }, rules: { 'gossipless/no-self-disabling-discovery': 'error' } }];\n`,
  );
  const node = process.execPath;
  const tools: Tool[] = [
    { name: 'node -e 0 (anchor)', argv: () => [node, '-e', '0'] },
    // The CLI's own floor: commander and the program, no lint.
    { name: 'gossipless --help (anchor)', argv: () => [node, bin, '--help'] },
    { name: 'gossipless lint', argv: (target) => [node, bin, 'lint', target] },
    {
      name: 'ESLint + gossipless plugin',
      argv: (target) => [
        node,
        join(root, 'node_modules/eslint/bin/eslint.js'),
        '--no-config-lookup',
        '-c',
        config,
        target,
      ],
    },
  ];
  // ast-grep's CLI is not a devDependency: the registry this project installs from lacks some of its
  // platform packages, so `npm ci` would refuse the lock. `npm install --no-save @ast-grep/cli@0.41.1`,
  // or install it anywhere and name its binary in AST_GREP_CLI.
  const astGrepBin = process.env.AST_GREP_CLI ?? join(root, 'node_modules/.bin/ast-grep');
  if (existsSync(astGrepBin)) {
    tools.push({
      name: 'ast-grep CLI (empty catch, all threads)',
      argv: (target) => [astGrepBin, 'run', '--lang', 'ts', '-p', 'try { $$$ } catch ($E) { }', target],
    });
  } else {
    console.log(
      'ast-grep CLI row skipped: `npm install --no-save @ast-grep/cli@0.41.1` (or set AST_GREP_CLI) to measure it',
    );
  }
  const load = (): string =>
    loadavg()
      .map((value) => value.toFixed(1))
      .join(' ');
  const loadBefore = load();
  const rows = bestWalls(tools, { empty, service }, runs);
  const anchor = rows[0]!;
  console.log('');
  console.log(
    `start-up: one process per run, wall time, best of ${runs}; service = ${fileCount} generated files; ` +
      `load average ${loadBefore} before, ${load()} after; node ${process.version}`,
  );
  console.log('');
  console.log('| tool | empty folder (ms) | × node -e 0 | service (ms) | × node -e 0 |');
  console.log('|---|---:|---:|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${Math.round(row.empty)} | ${(row.empty / anchor.empty).toFixed(1)} | ` +
        `${Math.round(row.service)} | ${(row.service / anchor.service).toFixed(1)} |`,
    );
  }
}
