/**
 * The lint runner without the parser: walking, reading, the text pre-filter and the report. The
 * TypeScript parser (about two thirds of a small run's wall time) is loaded only when a file passes
 * the pre-filter, so `gossipless lint` on a tree without discovery code answers at Node's own
 * start-up cost.
 */
import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { GossiplessError } from '@gossipless/runtime/errors';
import type { FileFinding, RuleMeta } from './finding.js';
import type { LintSourceResult } from './lint-source.js';
import { mightContainDiscovery } from './prefilter.js';
import { noSelfDisablingDiscoveryMeta } from './rules/no-self-disabling-discovery/meta.js';
import { walkLintTargets, type WalkNotes } from './walk-files.js';

/** A file the lint could not read or parse; the run goes on without it. */
export interface SkippedFile {
  /** Path relative to the working directory, `/`-separated. */
  readonly file: string;
  /** The parser's (or file system's) message. */
  readonly reason: string;
  readonly line?: number;
  readonly column?: number;
}

/** Everything one lint run found. */
export interface LintReport {
  /** Rules that ran, for formatters (SARIF rule metadata). */
  readonly rules: readonly RuleMeta[];
  /** Findings that were not suppressed, sorted by file, line and column. */
  readonly findings: readonly FileFinding[];
  readonly skipped: readonly SkippedFile[];
  /** Folders and files the walk left out (unreadable, `node_modules`, tests), each said out loud. */
  readonly notLinted: WalkNotes;
  /** Files examined (after walking and ignoring). */
  readonly filesLinted: number;
  /** Files that passed the text pre-filter and were parsed. */
  readonly filesParsed: number;
  /** Findings silenced by a `gossipless-disable-next-line` comment with a reason. */
  readonly suppressedCount: number;
  readonly errorCount: number;
  readonly warningCount: number;
}

/** Options of {@link lintFiles}. */
export interface LintFilesOptions {
  /** Directory that `paths` are relative to, and that reported paths are relative to. */
  readonly cwd: string;
  /** Also lint test files found inside folders (`*.test.ts`, `test/`…). @default false */
  readonly includeTests?: boolean;
  /** Called after each file, for a progress bar. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Lints one file's text (see `lintSource`). */
export type LintText = (fileName: string, text: string) => LintSourceResult;

/** A file that passed the pre-filter, waiting for the parser. */
interface Candidate {
  readonly absolute: string;
  readonly file: string;
  readonly text: string;
}

/**
 * The run in two steps around the parser: walk, read and pre-filter every file (`select`), then
 * parse and judge the files that passed (`judge`), with whatever `lintText` the caller loaded.
 */
function select(paths: readonly string[], options: LintFilesOptions) {
  const walked = walkLintTargets(paths, options.cwd, { includeTests: options.includeTests ?? false });
  const skipped: SkippedFile[] = walked.unreadableFolders.map(({ folder, reason }) => ({
    file: `${folder}/`,
    reason,
  }));
  const candidates: Candidate[] = [];
  walked.files.forEach((absolute, index) => {
    const file = relative(options.cwd, absolute).split(sep).join('/') || absolute;
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (error) {
      skipped.push({ file, reason: `cannot read: ${(error as Error).message}` });
      return;
    }
    if (mightContainDiscovery(text)) candidates.push({ absolute, file, text });
    else options.onProgress?.(index + 1 - candidates.length, walked.files.length);
  });
  const { unreadableFolders, dependencyFolders, testPaths, compiledPaths, buildFolders } = walked;
  return {
    total: walked.files.length,
    candidates,
    skipped,
    notLinted: { unreadableFolders, dependencyFolders, testPaths, compiledPaths, buildFolders },
  };
}

function judge(
  selected: ReturnType<typeof select>,
  lintText: LintText | undefined,
  options: LintFilesOptions,
) {
  const findings: FileFinding[] = [];
  const skipped = [...selected.skipped];
  let filesParsed = 0;
  let suppressedCount = 0;
  const before = selected.total - selected.candidates.length;
  selected.candidates.forEach(({ absolute, file, text }, index) => {
    let result: LintSourceResult;
    try {
      // `lintText` is only undefined when there is no candidate.
      result = lintText!(absolute, text);
    } catch (error) {
      // A bug in the rule, not in the user's file: stop, but say which file triggered it.
      throw new GossiplessError(
        'INTERNAL',
        `no-self-disabling-discovery crashed on ${file}: ${(error as Error).message} (please report it with that file)`,
        { cause: error },
      );
    }
    if (result.parsed) filesParsed += 1;
    if ('skipped' in result) {
      skipped.push({ file, ...result.skipped });
    } else {
      suppressedCount += result.suppressedCount;
      for (const finding of result.findings) findings.push({ file, ...finding });
    }
    options.onProgress?.(before + index + 1, selected.total);
  });
  findings.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column,
  );
  skipped.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return {
    rules: [noSelfDisablingDiscoveryMeta],
    findings,
    skipped,
    notLinted: selected.notLinted,
    filesLinted: selected.total,
    filesParsed,
    suppressedCount,
    errorCount: findings.filter((finding) => finding.severity === 'error').length,
    warningCount: findings.filter((finding) => finding.severity === 'warning').length,
  } satisfies LintReport;
}

/** Runs the lint with a `lintText` the caller already holds (the synchronous `lintFiles`). */
export function lintFilesWith(
  paths: readonly string[],
  options: LintFilesOptions,
  lintText: LintText,
): LintReport {
  return judge(select(paths, options), lintText, options);
}

/**
 * {@link lintFilesWith} that loads the parser and the rule only when some file passes the
 * pre-filter. The CLI uses this; library callers may use `lintFiles`.
 *
 * @example
 * ```ts
 * const report = await lintFilesLazily(['src'], { cwd: process.cwd() });
 * ```
 */
export async function lintFilesLazily(
  paths: readonly string[],
  options: LintFilesOptions,
): Promise<LintReport> {
  const selected = select(paths, options);
  const lintText = selected.candidates.length > 0 ? (await import('./lint-source.js')).lintSource : undefined;
  return judge(selected, lintText, options);
}
