import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { GossiplessError } from '@gossipless/runtime/errors';
import { LINTED_EXTENSIONS } from './extensions.js';
import { isTestDirectory, TEST_FILE } from './test-code.js';

/** VCS internals: never walked, never worth a note. */
const VCS_DIRECTORIES = new Set(['.git', '.hg', '.svn']);

/** Dependencies: not walked when found inside a folder, but said so (a folder given by name is walked). */
const DEPENDENCY_DIRECTORY = 'node_modules';
/** Folders bundlers and compilers write to; skipped only beside `src/` and when they hold declarations. */
const BUILD_DIRECTORIES = new Set(['dist', 'build']);
const DECLARATION_FILE = /\.d\.[cm]?ts$/;

/** True when the folder's own files include a type declaration (`index.d.ts`, `index.d.cts`). */
function holdsDeclarations(directory: string, readDirectory: (path: string) => Dirent[]): boolean {
  try {
    return readDirectory(directory).some((entry) => entry.isFile() && DECLARATION_FILE.test(entry.name));
  } catch {
    return false;
  }
}

/** What the walk left out, and why; formatters print it so a skip is never silent. */
export interface WalkNotes {
  /** Folders that could not be read (`EACCES`…): the run went on without them. */
  readonly unreadableFolders: readonly { readonly folder: string; readonly reason: string }[];
  /** `node_modules` folders found inside the given folders and not walked. */
  readonly dependencyFolders: readonly string[];
  /** Test files and folders not walked (see {@link WalkOptions.includeTests}). */
  readonly testPaths: readonly string[];
  /**
   * Compiled files (`build/main.js` beside `build/main.js.map`) whose source the map names and the
   * tree holds: the source is linted instead, so one mistake is reported once, at the line to edit.
   */
  readonly compiledPaths: readonly string[];
  /**
   * Build output folders (`dist/`, `build/` beside a `src/` folder, holding type declarations such
   * as `index.d.ts`): a bundler's copy of the sources the walk reads anyway, often without a map.
   */
  readonly buildFolders: readonly string[];
}

/** Options of {@link walkLintTargets}. */
export interface WalkOptions {
  /** Also lint test files (`*.test.ts`, `*.spec.js`, `test/`, `__tests__/`…). @default false */
  readonly includeTests?: boolean;
  /**
   * Reads one folder; tests inject a failing one (an unreadable folder cannot be made as root).
   * @default readdirSync with file types
   */
  readonly readDirectory?: (path: string) => Dirent[];
}

/** The files to lint and what was left out. */
export interface WalkResult extends WalkNotes {
  /** Absolute paths, sorted. */
  readonly files: readonly string[];
}

interface IgnoreLayer {
  /** Directory the .gitignore lives in; its patterns are relative to it. */
  readonly base: string;
  readonly rules: Ignore;
}

/** True when `rel` (from `path.relative`) leaves its base: `..`, `../x`, or another drive; not `..gen`. */
export function isOutside(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith('../') || isAbsolute(rel);
}

function loadGitignore(directory: string): IgnoreLayer | undefined {
  const file = join(directory, '.gitignore');
  if (!existsSync(file)) return undefined;
  return { base: directory, rules: ignore().add(readFileSync(file, 'utf8')) };
}

function isIgnored(path: string, isDirectory: boolean, layers: readonly IgnoreLayer[]): boolean {
  for (const layer of layers) {
    const rel = relative(layer.base, path);
    if (rel === '' || isOutside(rel)) continue;
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
    if (isOutside(rel) || current === dirname(current)) break;
    chain.unshift(current);
    if (current === root) break;
  }
  return chain.map(loadGitignore).filter((layer): layer is IgnoreLayer => layer !== undefined);
}

/**
 * Lists the files to lint under `paths` (files or directories, relative to `cwd`), sorted. Inside
 * directories it reads `.ts/.tsx/.mts/.cts/.js/.jsx/.mjs/.cjs`, skips VCS directories, `node_modules`
 * and (unless `includeTests`) test files, and honours every `.gitignore` from the repository root
 * down, as git would; what it skipped is in the result. A folder it cannot read is skipped with the
 * reason. A file or folder named explicitly is linted even if ignored, as ESLint does. A path that
 * does not exist, or is neither a file nor a folder (a FIFO, a device), is a usage error.
 */
export function walkLintTargets(
  paths: readonly string[],
  cwd: string,
  options: WalkOptions = {},
): WalkResult {
  const found = new Set<string>();
  const notes = {
    unreadableFolders: [] as { folder: string; reason: string }[],
    dependencyFolders: [] as string[],
    testPaths: [] as string[],
    compiledPaths: [] as string[],
    buildFolders: [] as string[],
  };
  const readDirectory =
    options.readDirectory ?? ((path: string) => readdirSync(path, { withFileTypes: true }));
  // Relative to the working directory when inside it, absolute otherwise (`../../../tmp/x` helps nobody).
  const shown = (path: string): string => {
    const rel = relative(cwd, path);
    return rel === '' ? '.' : isOutside(rel) ? path : rel.split(sep).join('/');
  };
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
    if (!stats.isDirectory()) {
      throw new GossiplessError(
        'INVALID_INPUT',
        `lint path "${given}" is neither a file nor a folder (a pipe, socket or device): give a source file or a folder`,
      );
    }
    const walk = (directory: string, inherited: readonly IgnoreLayer[]): void => {
      let entries: Dirent[];
      try {
        entries = readDirectory(directory);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
        notes.unreadableFolders.push({
          folder: shown(directory),
          reason: `cannot read the folder (${code}); fix its permissions to lint it`,
        });
        return;
      }
      const own = loadGitignore(directory);
      const layers = own ? [...inherited, own] : inherited;
      entries.sort((a, b) => (a.name < b.name ? -1 : 1));
      const names = new Set(entries.map((entry) => entry.name));
      for (const entry of entries) {
        const path = join(directory, entry.name);
        if (entry.isDirectory()) {
          if (VCS_DIRECTORIES.has(entry.name) || isIgnored(path, true, layers)) continue;
          if (entry.name === DEPENDENCY_DIRECTORY) notes.dependencyFolders.push(shown(path));
          else if (
            BUILD_DIRECTORIES.has(entry.name) &&
            names.has('src') &&
            holdsDeclarations(path, readDirectory)
          )
            notes.buildFolders.push(shown(path));
          else if (!options.includeTests && isTestDirectory(entry.name)) notes.testPaths.push(shown(path));
          else walk(path, layers);
        } else if (entry.isFile() && LINTED_EXTENSIONS.includes(extname(entry.name).toLowerCase())) {
          if (isIgnored(path, false, layers)) continue;
          if (!options.includeTests && TEST_FILE.test(basename(entry.name)))
            notes.testPaths.push(shown(path));
          else if (names.has(`${entry.name}.map`) && compiledFromPresentSource(path)) {
            notes.compiledPaths.push(shown(path));
          } else found.add(path);
        }
      }
    };
    walk(absolute, ancestorLayers(absolute, cwd));
  }
  return { files: [...found].sort(), ...notes };
}

/**
 * True when `<file>.map` names the file's sources and every one of them exists (`../src/main.ts`):
 * the file is compiled output of code the walk reads anyway. A map that cannot be read or names
 * sources that are not in the tree (a published bundle) leaves the file to be linted.
 */
function compiledFromPresentSource(file: string): boolean {
  let sources: unknown;
  try {
    const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as {
      sources?: unknown;
      sourceRoot?: unknown;
    };
    sources = map.sources;
    if (typeof map.sourceRoot === 'string' && map.sourceRoot !== '') return false;
  } catch {
    return false;
  }
  if (!Array.isArray(sources) || sources.length === 0) return false;
  const directory = dirname(file);
  return sources.every(
    (source) =>
      typeof source === 'string' &&
      !/^[a-z]+:/i.test(source) &&
      LINTED_EXTENSIONS.includes(extname(source).toLowerCase()) &&
      resolve(directory, source) !== file &&
      existsSync(resolve(directory, source)),
  );
}

/**
 * The files {@link walkLintTargets} would lint, without its notes.
 *
 * @example
 * ```ts
 * const files = listLintTargets(['src'], process.cwd());
 * ```
 */
export function listLintTargets(paths: readonly string[], cwd: string, options: WalkOptions = {}): string[] {
  return [...walkLintTargets(paths, cwd, options).files];
}
