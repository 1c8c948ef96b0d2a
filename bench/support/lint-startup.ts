/**
 * Start-up rows of bench:lint: wall time of one whole CLI process (start-up included), the way a CI
 * step runs it, on an empty folder and on a small service, for `gossipless lint`, ESLint with the
 * gossipless plugin (typescript-eslint parser) and ast-grep's CLI (an empty-catch pattern, all
 * threads). `node -e 0` on the same machine in the same run is the anchor: the ratio column is what
 * survives a busy machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** One tool's command line for a target folder. */
interface Tool {
  readonly name: string;
  readonly argv: (target: string) => readonly string[];
}

function bestWall(argv: readonly string[], runs: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    const result = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    const elapsed = performance.now() - started;
    if (result.error) throw result.error;
    best = Math.min(best, elapsed);
  }
  return best;
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
  // platform packages, so `npm ci` would refuse the lock. `npm install --no-save @ast-grep/cli@0.41.1`.
  const astGrepBin = join(root, 'node_modules/.bin/ast-grep');
  if (existsSync(astGrepBin)) {
    tools.push({
      name: 'ast-grep CLI (empty catch, all threads)',
      argv: (target) => [astGrepBin, 'run', '--lang', 'ts', '-p', 'try { $$$ } catch ($E) { }', target],
    });
  } else {
    console.log('ast-grep CLI row skipped: `npm install --no-save @ast-grep/cli@0.41.1` to measure it');
  }
  const rows = tools.map((tool) => ({
    name: tool.name,
    empty: bestWall(tool.argv(empty), runs),
    service: bestWall(tool.argv(service), runs),
  }));
  const anchor = rows[0]!;
  console.log('');
  console.log(
    `start-up: one process per run, wall time, best of ${runs}; service = ${fileCount} generated files`,
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
