import { readFileSync } from 'node:fs';
import { readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { Project, ts, type SourceFile } from 'ts-morph';
import { GossiplessError } from '@gossipless/runtime/errors';
import { assertWritableInside, writeFileAtomic } from './atomic-write.js';
import { builtInMappings, loadMigrateConfig } from './config.js';
import {
  planRateLimitsFile,
  RATE_LIMITS_FILE_NAME,
  type LocatedRateLimit,
  type RateLimitRule,
} from './rate-limits.js';
import { crdtRateLimiterShimMapping, crdtRateLimiterTransform } from './transforms/crdt-rate-limiter.js';
import { inHouseModuleTransform } from './transforms/in-house-module.js';
import { nodeDiscoverMapping, nodeDiscoverTransform } from './transforms/node-discover.js';
import { swimMapping, swimTransform } from './transforms/swim.js';
import { democracyMapping, democracyTransform } from './transforms/democracy.js';
import type {
  ExtractedRateLimit,
  ModuleMapping,
  ReviewItem,
  TextChange,
  Transform,
  TransformResult,
} from './types.js';

const BUILT_IN_MAPPINGS: readonly ModuleMapping[] = builtInMappings();
import { walkSourceFiles } from './walk.js';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The repository (or folder) to migrate. Nothing outside it is read through links or written. */
  targetDir: string;
  /**
   * Apply the changes. Without it, nothing is written and the report says what would change.
   * @default false
   */
  write?: boolean;
  /** Config file; by default `gossipless.config.json` at the target's root, when there is one. */
  configPath?: string;
  signal?: AbortSignal;
  /** Called after each file is processed, e.g. to drive a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

/** What happened to one file; unchanged files are only counted. */
export interface FileOutcome {
  /** Relative to the target, `/`-separated. */
  path: string;
  status: 'changed' | 'deleted' | 'skipped' | 'error';
  /** Why it was skipped, or what failed. */
  reason?: string;
  /** Unified diff (`a/<path>` → `b/<path>`) for changed and deleted files. */
  diff?: string;
  /** True for a file migrate creates (the rate-limits file the first time). */
  created?: boolean;
  /** True once written (or deleted) with `write`. */
  written?: boolean;
}

/** A call site left as is, with where it is. */
export interface ReviewFinding extends ReviewItem {
  /** Relative to the target, `/`-separated. */
  file: string;
}

/** The result of one run. */
export interface MigrateReport {
  /** Real path of the target. */
  target: string;
  write: boolean;
  configPath: string | undefined;
  counts: { files: number; changed: number; unchanged: number; skipped: number; errors: number };
  /** Changed, deleted, skipped and failed files (the rate-limits file included), in path order. */
  files: FileOutcome[];
  /** Call sites and limiters that need a human. */
  reviews: ReviewFinding[];
  rateLimits: {
    /** Relative path of the rules file. */
    file: string;
    /** Limiters whose settings were read. */
    found: number;
    /** Rules this run adds to the file. */
    added: RateLimitRule[];
    /** Limiters whose rule the file already has. */
    alreadyPresent: number;
  };
}

interface PlannedWrite {
  outcome: FileOutcome;
  absolutePath: string;
  text: string | undefined;
  mode: number | undefined;
  /** Size and mtime when read: a file edited meanwhile is not overwritten. */
  readStamp: { size: number; mtimeMs: number } | undefined;
}

function transformFor(mapping: ModuleMapping): Transform {
  if (mapping === nodeDiscoverMapping) return nodeDiscoverTransform;
  if (mapping === swimMapping) return swimTransform;
  if (mapping === democracyMapping) return democracyTransform;
  if (mapping === crdtRateLimiterShimMapping) return crdtRateLimiterTransform;
  return inHouseModuleTransform(mapping);
}

function scriptKindOf(file: string): ts.ScriptKind {
  if (/\.tsx$/.test(file)) return ts.ScriptKind.TSX;
  if (/\.jsx$/.test(file)) return ts.ScriptKind.JSX;
  if (/\.(js|mjs|cjs)$/.test(file)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

/** The first syntax error the parser recorded, if any. */
function firstParseError(sourceFile: SourceFile): string | undefined {
  // `parseDiagnostics` is internal to TypeScript, but asking a program for syntactic diagnostics
  // would build one per file; the parser has already done the work.
  const diagnostics = (sourceFile.compilerNode as unknown as { parseDiagnostics?: readonly ts.Diagnostic[] })
    .parseDiagnostics;
  const first = diagnostics?.[0];
  if (first === undefined) return undefined;
  const { line } = sourceFile.getLineAndColumnAtPos(first.start ?? 0);
  return `does not parse (line ${line}: ${ts.flattenDiagnosticMessageText(first.messageText, ' ')})`;
}

/** Applies non-overlapping changes; identical duplicates (one options object used twice) count once. */
export function applyChanges(text: string, changes: readonly TextChange[]): string {
  const sorted = [...changes].sort((a, b) => a.start - b.start || a.end - b.end);
  const unique = sorted.filter(
    (change, index) =>
      index === 0 ||
      !(
        change.start === sorted[index - 1]!.start &&
        change.end === sorted[index - 1]!.end &&
        change.text === sorted[index - 1]!.text
      ),
  );
  let output = '';
  let cursor = 0;
  for (const change of unique) {
    if (change.start < cursor) {
      throw new GossiplessError('INTERNAL', `two rewrites overlap at offset ${change.start}`);
    }
    output += text.slice(cursor, change.start) + change.text;
    cursor = change.end;
  }
  return output + text.slice(cursor);
}

function mergeResults(results: readonly TransformResult[]): TransformResult {
  return {
    changes: results.flatMap((result) => result.changes),
    reviews: results.flatMap((result) => result.reviews),
    rateLimits: results.flatMap((result) => result.rateLimits),
  };
}

/** Options of {@link migrateSourceText}. */
export interface MigrateSourceOptions {
  /** Absolute path the text is at (relative specifiers of in-house modules resolve from it). */
  absolutePath: string;
  /** Path for reports. @default the absolute path */
  relativePath?: string;
  /** @default the built-in mappings (node-discover, swim) */
  mappings?: readonly ModuleMapping[];
  /** A project to parse in, reused across files by the runner. @default a new in-memory project */
  project?: Project;
}

/** The outcome of migrating one file's text. */
export interface MigratedSource {
  /** The new text; the same string when nothing changed. */
  text: string;
  reviews: ReviewItem[];
  rateLimits: ExtractedRateLimit[];
  /** Set when the file does not parse; nothing else is then computed. */
  parseError?: string;
  /** False when the pre-check found no legacy module named in the text (the file was not parsed). */
  parsed: boolean;
}

const preparedTransforms = new WeakMap<
  readonly ModuleMapping[],
  { mapping: ModuleMapping; transform: Transform }[]
>();

function transformsFor(
  mappings: readonly ModuleMapping[],
): { mapping: ModuleMapping; transform: Transform }[] {
  let prepared = preparedTransforms.get(mappings);
  if (prepared === undefined) {
    prepared = [...mappings, crdtRateLimiterShimMapping].map((mapping) => ({
      mapping,
      transform: transformFor(mapping),
    }));
    preparedTransforms.set(mappings, prepared);
  }
  return prepared;
}

/**
 * Migrates one file's text in memory: the pre-check, the parse, every applicable transform, and the
 * changes applied. Pure apart from parsing; used by the runner and by the fixture tests.
 *
 * @example
 * ```ts
 * const { text } = migrateSourceText("import D from 'node-discover';", { absolutePath: '/repo/a.ts' });
 * // "import D from '@gossipless/runtime/shims/node-discover';"
 * ```
 */
export function migrateSourceText(text: string, options: MigrateSourceOptions): MigratedSource {
  const transforms = transformsFor(options.mappings ?? BUILT_IN_MAPPINGS);
  // Cheap text pre-check: most files never mention a legacy module and are never parsed.
  const applicable = transforms.filter(({ mapping }) =>
    mapping.preCheck.some((needle) => text.includes(needle)),
  );
  if (applicable.length === 0) return { text, reviews: [], rateLimits: [], parsed: false };
  const project =
    options.project ?? new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } });
  const relativePath = options.relativePath ?? options.absolutePath;
  const sourceFile = project.createSourceFile(options.absolutePath, text, {
    overwrite: true,
    scriptKind: scriptKindOf(options.absolutePath),
  });
  try {
    const parseError = firstParseError(sourceFile);
    if (parseError !== undefined) return { text, reviews: [], rateLimits: [], parseError, parsed: true };
    const context = {
      absolutePath: options.absolutePath,
      relativePath,
      eol: text.includes('\r\n') ? '\r\n' : '\n',
    };
    const result = mergeResults(applicable.map(({ transform }) => transform(sourceFile, context)));
    const reviews = [...result.reviews].sort((a, b) => a.line - b.line || a.column - b.column);
    return { text: applyChanges(text, result.changes), reviews, rateLimits: result.rateLimits, parsed: true };
  } finally {
    // Each file is removed after use so a run's memory stays flat.
    project.removeSourceFile(sourceFile);
  }
}

/**
 * Migrates a tree onto the shims: every source file that mentions a legacy module is parsed and
 * rewritten in memory; with `write`, changed files are replaced atomically. Never prints.
 *
 * @example
 * ```ts
 * const report = await migrate({ targetDir: '/repo', write: false });
 * for (const file of report.files) if (file.diff) console.log(file.diff);
 * ```
 */
export async function migrate(options: MigrateOptions): Promise<MigrateReport> {
  const targetDir = path.resolve(options.targetDir);
  const targetStat = await stat(targetDir).catch(() => undefined);
  if (targetStat === undefined || !targetStat.isDirectory()) {
    throw new GossiplessError(
      'INVALID_INPUT',
      `${options.targetDir} is not a directory; pass the repository to migrate`,
    );
  }
  const { mappings, configPath } = await loadMigrateConfig(targetDir, options.configPath);

  const walked = await walkSourceFiles(targetDir, options.signal);
  const root = walked.root;
  const outcomes: FileOutcome[] = walked.skipped.map((skipped) => ({ ...skipped, status: 'skipped' }));
  const planned: PlannedWrite[] = [];
  const reviews: ReviewFinding[] = [];
  const rateLimits: LocatedRateLimit[] = [];
  let unchanged = 0;

  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } });
  const total = walked.files.length;
  for (const [index, relativePath] of walked.files.entries()) {
    throwIfInterrupted(options.signal, 'nothing was written');
    const absolutePath = path.join(root, relativePath);
    try {
      // Synchronous on purpose: promise-based reads cost ~0.3 ms of thread-pool round trips per
      // file, more than the pre-check, and most files are only read and pre-checked.
      const text = readFileSync(absolutePath, 'utf8');
      const migrated = migrateSourceText(text, { absolutePath, relativePath, mappings, project });
      if (migrated.parseError !== undefined) {
        outcomes.push({ path: relativePath, status: 'skipped', reason: migrated.parseError });
        continue;
      }
      reviews.push(...migrated.reviews.map((item) => ({ file: relativePath, ...item })));
      rateLimits.push(...migrated.rateLimits.map((limit) => ({ ...limit, file: relativePath })));
      const updated = migrated.text;
      if (updated === text) {
        unchanged++;
        continue;
      }
      const fileStat = await stat(absolutePath);
      const readStamp = { size: fileStat.size, mtimeMs: fileStat.mtimeMs };
      // A declaration file that held only the legacy stub has nothing left to say.
      if (relativePath.endsWith('.d.ts') && updated.trim() === '') {
        const diff = createTwoFilesPatch(`a/${relativePath}`, '/dev/null', text, '');
        const outcome: FileOutcome = { path: relativePath, status: 'deleted', diff };
        outcomes.push(outcome);
        planned.push({ outcome, absolutePath, text: undefined, mode: undefined, readStamp });
      } else {
        const diff = createTwoFilesPatch(`a/${relativePath}`, `b/${relativePath}`, text, updated);
        const outcome: FileOutcome = { path: relativePath, status: 'changed', diff };
        outcomes.push(outcome);
        planned.push({ outcome, absolutePath, text: updated, mode: fileStat.mode & 0o7777, readStamp });
      }
    } catch (error) {
      if (error instanceof GossiplessError && error.code !== 'INTERNAL') throw error;
      throwIfInterrupted(options.signal, 'nothing was written');
      outcomes.push({ path: relativePath, status: 'error', reason: describeError(error) });
    } finally {
      options.onProgress?.(index + 1, total);
    }
  }

  const rateLimitsFile = await planRateLimits(root, rateLimits, outcomes, planned);

  if (options.write) {
    for (const write of planned) {
      throwIfInterrupted(options.signal, 'files already written stay written; run again to finish');
      try {
        await applyPlannedWrite(root, write);
        write.outcome.written = true;
      } catch (error) {
        write.outcome.status = 'error';
        write.outcome.reason = `not written: ${describeError(error)}`;
      }
    }
  }

  outcomes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  reviews.sort((a, b) =>
    a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1,
  );
  const count = (status: FileOutcome['status']): number =>
    outcomes.filter((outcome) => outcome.status === status).length;
  return {
    target: root,
    write: options.write ?? false,
    configPath,
    counts: {
      files: total,
      changed: count('changed') + count('deleted'),
      unchanged,
      skipped: count('skipped'),
      errors: count('error'),
    },
    files: outcomes,
    reviews,
    rateLimits: rateLimitsFile,
  };
}

async function planRateLimits(
  root: string,
  found: readonly LocatedRateLimit[],
  outcomes: FileOutcome[],
  planned: PlannedWrite[],
): Promise<MigrateReport['rateLimits']> {
  const absolutePath = path.join(root, RATE_LIMITS_FILE_NAME);
  const summary: MigrateReport['rateLimits'] = {
    file: RATE_LIMITS_FILE_NAME,
    found: found.length,
    added: [],
    alreadyPresent: 0,
  };
  if (found.length === 0) return summary;
  let existing: string | undefined;
  try {
    existing = await readFile(absolutePath, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    const plan = planRateLimitsFile(existing, found);
    summary.added = plan.added;
    summary.alreadyPresent = plan.alreadyPresent;
    if (plan.text === undefined) return summary;
    const diff = createTwoFilesPatch(
      existing === undefined ? '/dev/null' : `a/${RATE_LIMITS_FILE_NAME}`,
      `b/${RATE_LIMITS_FILE_NAME}`,
      existing ?? '',
      plan.text,
    );
    const outcome: FileOutcome = {
      path: RATE_LIMITS_FILE_NAME,
      status: 'changed',
      diff,
      ...(existing === undefined ? { created: true } : {}),
    };
    outcomes.push(outcome);
    planned.push({ outcome, absolutePath, text: plan.text, mode: undefined, readStamp: undefined });
  } catch (error) {
    outcomes.push({
      path: RATE_LIMITS_FILE_NAME,
      status: 'error',
      reason: `cannot update the existing rules file (${describeError(error)}); fix or move it, then run again`,
    });
  }
  return summary;
}

async function applyPlannedWrite(root: string, write: PlannedWrite): Promise<void> {
  if (write.readStamp !== undefined) {
    const now = await stat(write.absolutePath);
    if (now.size !== write.readStamp.size || now.mtimeMs !== write.readStamp.mtimeMs) {
      throw new Error('the file changed on disk while migrate ran; run again');
    }
  }
  if (write.text === undefined) {
    await assertWritableInside(root, write.absolutePath);
    await unlink(write.absolutePath);
    return;
  }
  const mode = write.mode ?? (await stat(write.absolutePath).catch(() => undefined))?.mode;
  await writeFileAtomic(root, write.absolutePath, write.text, mode === undefined ? undefined : mode & 0o7777);
}

function throwIfInterrupted(signal: AbortSignal | undefined, consequence: string): void {
  if (signal?.aborted) throw new GossiplessError('ABORTED', `migrate was interrupted; ${consequence}`);
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
