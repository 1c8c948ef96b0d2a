import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { lstat, readFile, stat, unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
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
  /**
   * Files larger than this many bytes are skipped unread, with the reason in the report.
   * @default DEFAULT_MAX_FILE_SIZE (1 MiB)
   */
  maxFileSize?: number;
  /**
   * Rewrite read-only files too (their mode is kept). Without it they are skipped with the reason.
   * @default false
   */
  force?: boolean;
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
  /**
   * A project to parse in (or a function asked for one only when the file is parsed), reused across
   * files by the runner. The parsed file is left in it (the
   * caller drops the whole project now and then, see {@link ProjectBatches}): removing a file from a
   * ts-morph project walks its whole tree again. @default a new in-memory project, dropped after use
   */
  project?: Project | (() => Project);
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
  if (text.charCodeAt(0) === 0xfeff) {
    // The parser drops a byte-order mark, so offsets would be one off: migrate without it, keep it.
    const inner = migrateSourceText(text.slice(1), options);
    return { ...inner, text: inner.text === text.slice(1) ? text : `\uFEFF${inner.text}` };
  }
  const transforms = transformsFor(options.mappings ?? BUILT_IN_MAPPINGS);
  // Cheap text pre-check: most files never mention a legacy module and are never parsed.
  const applicable = transforms.filter(({ mapping }) =>
    mapping.preCheck.some((needle) => text.includes(needle)),
  );
  if (applicable.length === 0) return { text, reviews: [], rateLimits: [], parsed: false };
  const project =
    typeof options.project === 'function' ? options.project() : (options.project ?? newProject());
  const relativePath = options.relativePath ?? options.absolutePath;
  const sourceFile = project.createSourceFile(options.absolutePath, text, {
    overwrite: true,
    scriptKind: scriptKindOf(options.absolutePath),
  });
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
}

function newProject(): Project {
  return new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } });
}

/**
 * Hands out a ts-morph project for each parsed file and replaces it once it holds a few files or a
 * few megabytes: dropping a whole project is left to the garbage collector, while removing files
 * one by one (`removeSourceFile`) walked each file's tree again and cost as much as parsing it.
 * Memory stays bounded by the batch, not the run.
 */
export class ProjectBatches {
  #project: Project | undefined;
  #files = 0;
  #characters = 0;

  constructor(
    private readonly maxFiles = 64,
    private readonly maxCharacters = 4_000_000,
  ) {}

  /** A project to parse a file of `characters` characters in. */
  take(characters: number): Project {
    if (
      this.#project === undefined ||
      this.#files >= this.maxFiles ||
      this.#characters + characters > this.maxCharacters
    ) {
      this.#project = newProject();
      this.#files = 0;
      this.#characters = 0;
    }
    this.#files++;
    this.#characters += characters;
    return this.#project;
  }
}

/** Files larger than this are not read by default: generated bundles and minified code. */
export const DEFAULT_MAX_FILE_SIZE = 1024 * 1024;

/** How long the file loop may run before it lets the event loop see a signal (Ctrl-C). */
const YIELD_EVERY_MS = 25;

/** Mutable state of one run, filled by the steps of {@link migrate}. */
interface RunState {
  root: string;
  mappings: readonly ModuleMapping[];
  outcomes: FileOutcome[];
  planned: PlannedWrite[];
  reviews: ReviewFinding[];
  rateLimits: LocatedRateLimit[];
  unchanged: number;
  projects: ProjectBatches;
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
  const targetDir = await resolveTargetDirectory(options.targetDir);
  const { mappings, configPath } = await loadMigrateConfig(targetDir, options.configPath);
  const walked = await walkSourceFiles(targetDir, options.signal);
  const state: RunState = {
    root: walked.root,
    mappings,
    outcomes: walked.skipped.map((skipped) => ({ ...skipped, status: 'skipped' })),
    planned: [],
    reviews: [],
    rateLimits: [],
    unchanged: 0,
    projects: new ProjectBatches(),
  };
  await planFiles(state, walked.files, options);
  const rateLimitsFile = await planRateLimits(state.root, state.rateLimits, state.outcomes, state.planned);
  if (options.write) await applyPlannedWrites(state, options);
  return buildReport(state, options, configPath, walked.files.length, rateLimitsFile);
}

/** The target as an absolute path, refused with a one-line reason unless it is a directory. */
async function resolveTargetDirectory(target: string): Promise<string> {
  const targetDir = path.resolve(target);
  const targetStat = await stat(targetDir).catch(() => undefined);
  if (targetStat === undefined) {
    throw new GossiplessError('INVALID_INPUT', `${target} does not exist; pass the repository to migrate`);
  }
  if (!targetStat.isDirectory()) {
    throw new GossiplessError(
      'INVALID_INPUT',
      `${target} is a file, not a folder; pass the folder (repository) that holds it`,
    );
  }
  return targetDir;
}

/** Reads, pre-checks, parses and rewrites every walked file in memory; nothing is written here. */
async function planFiles(state: RunState, files: readonly string[], options: MigrateOptions): Promise<void> {
  const maxFileSize = options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  let lastYield = performance.now();
  for (const [index, relativePath] of files.entries()) {
    // The loop is synchronous per file (see readSource); it yields now and then so that a signal
    // handler (Ctrl-C) runs and the next check sees it.
    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    throwIfInterrupted(options.signal, 'nothing was written');
    try {
      planFile(state, relativePath, maxFileSize, options);
    } catch (error) {
      if (error instanceof GossiplessError && error.code !== 'INTERNAL') throw error;
      throwIfInterrupted(options.signal, 'nothing was written');
      state.outcomes.push({ path: relativePath, status: 'error', reason: describeError(error) });
    } finally {
      options.onProgress?.(index + 1, files.length);
    }
  }
}

/** A file as read: its text (without a byte-order mark) and what writing it back must keep. */
interface ReadSource {
  text: string;
  /** The UTF-8 byte-order mark the file started with, kept on write. */
  bom: string;
  /** False when the bytes are not valid UTF-8: decoding replaced some of them. */
  validUtf8: boolean;
  stat: { size: number; mtimeMs: number; mode: number };
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads one file, or says why not. Synchronous on purpose: promise-based reads cost ~0.3 ms of
 * thread-pool round trips per file, more than the pre-check, and most files are only read and
 * pre-checked. The size is checked on the open descriptor before anything is read.
 */
function readSource(absolutePath: string, maxFileSize: number): ReadSource | { skip: string } {
  const descriptor = openSync(absolutePath, 'r');
  try {
    const fileStat = fstatSync(descriptor);
    if (fileStat.size > maxFileSize) {
      return {
        skip:
          `larger than ${formatBytes(maxFileSize)} (${formatBytes(fileStat.size)}; generated or minified?): not read; ` +
          'pass --max-file-size to include it',
      };
    }
    const bytes = Buffer.allocUnsafe(fileStat.size);
    let length = 0;
    while (length < bytes.length) {
      const read = readSync(descriptor, bytes, length, bytes.length - length, null);
      if (read === 0) break;
      length += read;
    }
    const content = bytes.subarray(0, length);
    let text = content.toString('utf8');
    // toString replaces invalid sequences by U+FFFD; only then is the strict decoder worth a pass.
    const validUtf8 = !text.includes('\uFFFD') || isValidUtf8(content);
    const bom = text.charCodeAt(0) === 0xfeff ? '\uFEFF' : '';
    if (bom !== '') text = text.slice(1);
    return {
      text,
      bom,
      validUtf8,
      stat: { size: fileStat.size, mtimeMs: fileStat.mtimeMs, mode: fileStat.mode },
    };
  } finally {
    closeSync(descriptor);
  }
}

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    fatalUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / 1024 / 1024).toFixed(1))} MiB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`;
  return `${bytes} B`;
}

/** One file: read, migrate in memory, and plan its write (with its diff) when it changes. */
function planFile(state: RunState, relativePath: string, maxFileSize: number, options: MigrateOptions): void {
  const absolutePath = path.join(state.root, relativePath);
  const source = readSource(absolutePath, maxFileSize);
  if ('skip' in source) {
    state.outcomes.push({ path: relativePath, status: 'skipped', reason: source.skip });
    return;
  }
  const { text } = source;
  const migrated = migrateSourceText(text, {
    absolutePath,
    relativePath,
    mappings: state.mappings,
    project: () => state.projects.take(text.length),
  });
  if (migrated.parsed && !source.validUtf8) {
    // Decoding replaced the invalid bytes; writing the text back would change them outside the
    // edits, and the diff would not show it.
    state.outcomes.push({
      path: relativePath,
      status: 'skipped',
      reason:
        'is not valid UTF-8: not rewritten (its other bytes would change); convert it to UTF-8 and run again',
    });
    return;
  }
  if (migrated.parseError !== undefined) {
    state.outcomes.push({ path: relativePath, status: 'skipped', reason: migrated.parseError });
    return;
  }
  state.reviews.push(...migrated.reviews.map((item) => ({ file: relativePath, ...item })));
  state.rateLimits.push(...migrated.rateLimits.map((limit) => ({ ...limit, file: relativePath })));
  if (migrated.text === text) {
    state.unchanged++;
    return;
  }
  const before = source.bom + text;
  const after = source.bom + migrated.text;
  const readStamp = { size: source.stat.size, mtimeMs: source.stat.mtimeMs };
  const mode = source.stat.mode & 0o7777;
  // A declaration file that held only the legacy stub has nothing left to say.
  const deleted = relativePath.endsWith('.d.ts') && migrated.text.trim() === '';
  const diff = deleted
    ? createTwoFilesPatch(`a/${relativePath}`, '/dev/null', before, '')
    : createTwoFilesPatch(`a/${relativePath}`, `b/${relativePath}`, before, after);
  const outcome: FileOutcome = { path: relativePath, status: deleted ? 'deleted' : 'changed', diff };
  state.outcomes.push(outcome);
  if ((mode & 0o222) === 0 && !options.force) {
    outcome.status = 'skipped';
    outcome.reason =
      `read-only (mode ${mode.toString(8).padStart(4, '0')}): not ${deleted ? 'deleted' : 'rewritten'}; ` +
      'make it writable (chmod u+w) or pass --force';
    return;
  }
  state.planned.push({
    outcome,
    absolutePath,
    text: deleted ? undefined : after,
    mode: deleted ? undefined : mode,
    readStamp,
  });
}

/** Writes the planned files one by one, each atomically; a failure is reported on its file. */
async function applyPlannedWrites(state: RunState, options: MigrateOptions): Promise<void> {
  for (const write of state.planned) {
    throwIfInterrupted(options.signal, 'files already written stay written; run again to finish');
    try {
      await applyPlannedWrite(state.root, write);
      write.outcome.written = true;
    } catch (error) {
      write.outcome.status = 'error';
      write.outcome.reason = `not written: ${describeError(error)}`;
    }
  }
}

function buildReport(
  state: RunState,
  options: MigrateOptions,
  configPath: string | undefined,
  total: number,
  rateLimitsFile: MigrateReport['rateLimits'],
): MigrateReport {
  const { outcomes, reviews } = state;
  outcomes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  reviews.sort((a, b) =>
    a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1,
  );
  const count = (status: FileOutcome['status']): number =>
    outcomes.filter((outcome) => outcome.status === status).length;
  return {
    target: state.root,
    write: options.write ?? false,
    configPath,
    counts: {
      files: total,
      changed: count('changed') + count('deleted'),
      unchanged: state.unchanged,
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
    // A link could point anywhere (outside the target, at a secret): it is neither read nor replaced.
    if ((await lstat(absolutePath).catch(() => undefined))?.isSymbolicLink()) {
      outcomes.push({
        path: RATE_LIMITS_FILE_NAME,
        status: 'error',
        reason:
          'is a symbolic link: not read or replaced; make it a regular file inside the target and run again',
      });
      return summary;
    }
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
