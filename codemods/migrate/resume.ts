import { execFile } from 'node:child_process';
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { loadMigrateConfig } from './config.js';
import { RATE_LIMITS_FILE_NAME, type RateLimitRule } from './rate-limits.js';
import { migrateSourceText } from './runner.js';
import { SOURCE_FILE } from './walk.js';

/** The temporary file name `writeFileAtomic` uses: `.<name>.gossipless-<pid>-<8 hex>.tmp`. */
export const TEMPORARY_FILE = /(^|\/)\.[^/]+\.gossipless-(\d+)-[0-9a-f]{8}\.tmp$/;

/** How {@link classifyUncommittedChanges} sorted the paths git lists as changed. */
export interface UncommittedChanges {
  /** Temporary files left by a migrate run that was killed mid-write (absolute paths). */
  leftovers: string[];
  /** Files that hold exactly what migrate makes of their committed version (relative to the repo). */
  migrated: string[];
  /** Everything else: work of the user, which a write must not mix with. */
  foreign: string[];
}

interface StatusEntry {
  code: string;
  /** Relative to the repository's top level, `/`-separated. */
  path: string;
}

function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      { cwd, timeout: 15_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } },
      (error, stdout) => resolve(error === null ? stdout : undefined),
    );
  });
}

function parsePorcelainZ(output: string): StatusEntry[] {
  const fields = output.split('\0');
  const entries: StatusEntry[] = [];
  for (let index = 0; index < fields.length; index++) {
    const field = fields[index]!;
    if (field.length < 4) continue;
    const code = field.slice(0, 2);
    entries.push({ code, path: field.slice(3) });
    // A rename or copy is followed by its original path.
    if (code.startsWith('R') || code.startsWith('C')) index++;
  }
  return entries;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Sorts the uncommitted changes under `targetDir` into what an interrupted `migrate --write` left
 * (its temporary files, files already migrated, rules it added) and everything else, so that the
 * rerun its message recommends can finish the job instead of being refused as a dirty tree.
 * A file counts as migrated only when migrating its committed version gives exactly its current
 * text: a file also edited by hand is the user's.
 */
export async function classifyUncommittedChanges(
  targetDir: string,
  configPath?: string,
): Promise<UncommittedChanges> {
  const result: UncommittedChanges = { leftovers: [], migrated: [], foreign: [] };
  const topLevel = (await git(targetDir, ['rev-parse', '--show-toplevel']))?.trim();
  const status = await git(targetDir, ['status', '--porcelain', '-z', '--untracked-files=normal', '--', '.']);
  if (topLevel === undefined || status === undefined) return result;
  const { mappings } = await loadMigrateConfig(targetDir, configPath);
  for (const entry of parsePorcelainZ(status)) {
    const absolutePath = path.join(topLevel, entry.path);
    const temporary = TEMPORARY_FILE.exec(entry.path);
    if (entry.code === '??' && temporary !== null && !isRunning(Number(temporary[2]))) {
      result.leftovers.push(absolutePath);
    } else if (await isMigrationOf(topLevel, entry, absolutePath, mappings)) {
      result.migrated.push(entry.path);
    } else {
      result.foreign.push(entry.path);
    }
  }
  return result;
}

async function isMigrationOf(
  topLevel: string,
  entry: StatusEntry,
  absolutePath: string,
  mappings: Awaited<ReturnType<typeof loadMigrateConfig>>['mappings'],
): Promise<boolean> {
  const committed = entry.code === '??' ? undefined : await git(topLevel, ['show', `HEAD:${entry.path}`]);
  const current =
    entry.code[1] === 'D' ? undefined : await readFile(absolutePath, 'utf8').catch(() => undefined);
  if (path.basename(entry.path) === RATE_LIMITS_FILE_NAME) return onlyAddsRules(committed, current);
  if (committed === undefined || !SOURCE_FILE.test(entry.path) || !/^ [MD]$/.test(entry.code)) return false;
  const migrated = migrateSourceText(committed, { absolutePath, mappings }).text;
  if (migrated === committed) return false;
  // A `.d.ts` that held only the legacy stub is deleted by migrate.
  if (current === undefined) return entry.path.endsWith('.d.ts') && migrated.trim() === '';
  return migrated === current;
}

/** The rules file as migrate leaves it: the committed rules, unchanged, and rules added after them. */
function onlyAddsRules(committed: string | undefined, current: string | undefined): boolean {
  if (current === undefined) return false;
  const rulesOf = (text: string): RateLimitRule[] | undefined => {
    try {
      const parsed = JSON.parse(text) as unknown;
      const rules = Array.isArray(parsed) ? parsed : (parsed as { rules?: unknown }).rules;
      return Array.isArray(rules) ? (rules as RateLimitRule[]) : undefined;
    } catch {
      return undefined;
    }
  };
  const now = rulesOf(current);
  if (now === undefined) return false;
  if (committed === undefined) return true;
  const before = rulesOf(committed);
  return (
    before !== undefined &&
    before.length <= now.length &&
    before.every((rule, index) => JSON.stringify(rule) === JSON.stringify(now[index]))
  );
}

/** Removes the temporary files a killed run left; returns how many were removed. */
export async function removeLeftovers(leftovers: readonly string[]): Promise<number> {
  let removed = 0;
  for (const file of leftovers) {
    if (
      await unlink(file).then(
        () => true,
        () => false,
      )
    )
      removed++;
  }
  return removed;
}
