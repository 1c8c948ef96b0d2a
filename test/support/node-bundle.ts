import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, type BuildOptions } from 'esbuild';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/**
 * Under node_modules, so the bundle's external package imports resolve. node_modules may be shared
 * by several worktrees (a symlink): files are named by their content, so two checkouts (or two
 * runs) never overwrite each other's bundle, and an unchanged script is not written again.
 */
const BUNDLE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'gossipless-node-bundles');
const bundles = new Map<string, string>();

/**
 * How every node script of the tests and benches is bundled: one ES module for this Node, with the
 * project's sources inlined and packages left to node_modules. The banner gives the module a real
 * `require`: a bundled CommonJS file that `require`s a package (codemods/syntax/load-typescript.cjs)
 * otherwise hits esbuild's shim, which throws "Dynamic require … is not supported".
 */
export const NODE_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
  },
  logLevel: 'error',
} as const satisfies BuildOptions;

/**
 * Bundles a TypeScript node script (and the sources it imports; packages stay in node_modules) into
 * one ES module and returns its path, for `spawn(process.execPath, [path])`. Node processes that
 * transpiled their sources through tsx took 15–60 s to start on a loaded 2-core machine, longer
 * than the faults a test injects; a bundle starts in well under a second. Built once per process
 * and script.
 */
export function bundleNodeScript(entry: string): string {
  const known = bundles.get(entry);
  if (known) return known;
  const result = buildSync({
    ...NODE_BUNDLE_OPTIONS,
    entryPoints: [entry],
    write: false,
    outfile: 'bundle.mjs',
  });
  const code = result.outputFiles[0]!.contents;
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const file = path.join(BUNDLE_DIR, `${path.basename(entry, path.extname(entry))}-${hash}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(BUNDLE_DIR, { recursive: true });
    // Written aside, then renamed: a process started meanwhile never reads half a file.
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, code);
    renameSync(temporary, file);
  }
  bundles.set(entry, file);
  return file;
}
