import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { GossiplessError } from '@gossipless/runtime/errors';
import { LINTED_EXTENSIONS } from './parse-source.js';

/** Directories never walked: dependencies and VCS internals. */
const ALWAYS_SKIPPED = new Set(['node_modules', '.git', '.hg', '.svn']);

interface IgnoreLayer {
  /** Directory the .gitignore lives in; its patterns are relative to it. */
  readonly base: string;
  readonly rules: Ignore;
}

function loadGitignore(directory: string): IgnoreLayer | undefined {
  const file = join(directory, '.gitignore');
  if (!existsSync(file)) return undefined;
  return { base: directory, rules: ignore().add(readFileSync(file, 'utf8')) };
}

function isIgnored(path: string, isDirectory: boolean, layers: readonly IgnoreLayer[]): boolean {
  for (const layer of layers) {
    const rel = relative(layer.base, path);
    if (rel === '' || rel.startsWith('..')) continue;
    const posix = rel.split(sep).join('/');
    if (layer.rules.ignores(isDirectory ? `${posix}/` : posix)) return true;
  }
  return false;
}

/** The nearest directory at or above `start` that holds `.git`, or undefined outside a repository. */
function repositoryRoot(start: string): string | undefined {
  for (let directory = start; ; directory = dirname(directory)) {
    if (existsSync(join(directory, '.git'))) return directory;
    if (dirname(directory) === directory) return undefined;
  }
}

/** .gitignore files that apply to `directory` from above it: repository root (or `stopAt`) down. */
function ancestorLayers(directory: string, stopAt: string): IgnoreLayer[] {
  const root = repositoryRoot(directory) ?? stopAt;
  const chain: string[] = [];
  for (let current = dirname(directory); ; current = dirname(current)) {
    const rel = relative(root, current);
    if (rel.startsWith('..') || current === dirname(current)) break;
    chain.unshift(current);
    if (current === root) break;
  }
  return chain.map(loadGitignore).filter((layer): layer is IgnoreLayer => layer !== undefined);
}

/**
 * Lists the files to lint under `paths` (files or directories, relative to `cwd`), sorted. Inside
 * directories it reads `.ts/.tsx/.mts/.cts/.js/.jsx/.mjs/.cjs`, skips `node_modules` and VCS
 * directories, and honours every `.gitignore` from the repository root down, as git would. A file
 * named explicitly is linted even if ignored, as ESLint does. A path that does not exist is a
 * usage error.
 */
export function listLintTargets(paths: readonly string[], cwd: string): string[] {
  const found = new Set<string>();
  for (const given of paths.length === 0 ? ['.'] : paths) {
    const absolute = resolve(cwd, given);
    let stats;
    try {
      stats = statSync(absolute);
    } catch (error) {
      throw new GossiplessError('INVALID_INPUT', `lint path "${given}" does not exist (looked in ${cwd})`, {
        cause: error,
      });
    }
    if (stats.isFile()) {
      found.add(absolute);
      continue;
    }
    walk(absolute, ancestorLayers(absolute, cwd), found);
  }
  return [...found].sort();
}

function walk(directory: string, inherited: readonly IgnoreLayer[], found: Set<string>): void {
  const own = loadGitignore(directory);
  const layers = own ? [...inherited, own] : inherited;
  const entries = readdirSync(directory, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (ALWAYS_SKIPPED.has(entry.name) || isIgnored(path, true, layers)) continue;
      walk(path, layers, found);
    } else if (entry.isFile() && LINTED_EXTENSIONS.includes(extname(entry.name).toLowerCase())) {
      if (!isIgnored(path, false, layers)) found.add(path);
    }
  }
}
