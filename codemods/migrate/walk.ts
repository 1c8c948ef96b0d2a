import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { GossiplessError } from '@gossipless/runtime/errors';

/** Extensions migrate reads. `.d.ts` is included: that is where `declare module` stubs live. */
export const SOURCE_FILE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

/** A path the walk did not enter, and why. */
export interface SkippedPath {
  /** Relative to the target, `/`-separated. */
  path: string;
  reason: string;
}

/** What {@link walkSourceFiles} found. */
export interface WalkResult {
  /** Real path of the target: everything read or written is under it. */
  root: string;
  /** Source files, relative to the root, `/`-separated, sorted. */
  files: string[];
  skipped: SkippedPath[];
}

interface IgnoreScope {
  /** Directory of the `.gitignore`, relative to the root (`''` for the root). */
  base: string;
  rules: Ignore;
}

/**
 * Lists the source files under `targetDir`: `.gitignore` files (at every level) are honoured,
 * `node_modules` and `.git` are never entered, and symbolic links are not followed. A link whose
 * target leaves the tree is reported, since following it would read or write outside the target.
 */
export async function walkSourceFiles(targetDir: string, signal?: AbortSignal): Promise<WalkResult> {
  const root = await realpath(targetDir);
  const files: string[] = [];
  const skipped: SkippedPath[] = [];

  const isIgnored = (relative: string, isDirectory: boolean, scopes: readonly IgnoreScope[]): boolean =>
    scopes.some((scope) => {
      const inScope = scope.base === '' ? relative : path.posix.relative(scope.base, relative);
      return (
        inScope !== '' &&
        !isParentStep(inScope, '/') &&
        scope.rules.ignores(isDirectory ? `${inScope}/` : inScope)
      );
    });

  const visit = async (relativeDir: string, inherited: readonly IgnoreScope[]): Promise<void> => {
    if (signal?.aborted)
      throw new GossiplessError(
        'ABORTED',
        'migrate was interrupted while listing files; nothing was written',
      );
    const absoluteDir = path.join(root, relativeDir);
    let scopes = inherited;
    const gitignore = await readFile(path.join(absoluteDir, '.gitignore'), 'utf8').catch(() => undefined);
    if (gitignore !== undefined)
      scopes = [...inherited, { base: relativeDir, rules: ignore().add(gitignore) }];

    let entries: Dirent[];
    try {
      entries = await readdir(absoluteDir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (relativeDir === '' || (code !== 'EACCES' && code !== 'EPERM')) throw error;
      // One folder the user cannot read does not stop the run; the report names it.
      skipped.push({
        path: relativeDir,
        reason: `folder cannot be read (${code}): not migrated; fix its permissions and run again`,
      });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      const relative = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.isSymbolicLink()) {
        const reason = await describeSymlink(root, path.join(root, relative));
        if (reason !== undefined && !isIgnored(relative, false, scopes))
          skipped.push({ path: relative, reason });
        continue;
      }
      if (entry.isDirectory()) {
        if (!isIgnored(relative, true, scopes)) await visit(relative, scopes);
      } else if (entry.isFile() && SOURCE_FILE.test(entry.name) && !isIgnored(relative, false, scopes)) {
        files.push(relative);
      }
    }
  };

  await visit('', []);
  return { root, files, skipped };
}

/** Why a symlink is not followed, or undefined when it is not worth a line (not a source file). */
async function describeSymlink(root: string, linkPath: string): Promise<string | undefined> {
  let target: string;
  try {
    target = await realpath(linkPath);
  } catch {
    return SOURCE_FILE.test(linkPath) ? 'broken symbolic link' : undefined;
  }
  const targetStat = await stat(target);
  if (!targetStat.isDirectory() && !SOURCE_FILE.test(target)) return undefined;
  if (!isInside(root, target)) return 'symbolic link to outside the target: not followed';
  return 'symbolic link inside the target: not followed (its target is processed where it is)';
}

/** True when `candidate` (a real path) is `root` or below it. */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  // `..gen/x` is inside; only `..` itself or a path starting with `../` leaves the root.
  return relative === '' || (!isParentStep(relative, path.sep) && !path.isAbsolute(relative));
}

function isParentStep(relative: string, separator: string): boolean {
  return relative === '..' || relative.startsWith(`..${separator}`);
}
