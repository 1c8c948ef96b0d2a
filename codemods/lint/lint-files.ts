import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { GossiplessError } from '@gossipless/runtime/errors';
import type { FileFinding, Finding, RuleMeta } from './finding.js';
import { parseSource } from './parse-source.js';
import { mightContainDiscovery } from './prefilter.js';
import {
  noSelfDisablingDiscovery,
  noSelfDisablingDiscoveryMeta,
} from './rules/no-self-disabling-discovery.js';
import { applySuppressions } from './suppressions.js';
import { listLintTargets } from './walk-files.js';

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
  /** Called after each file, for a progress bar. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The result of linting one file's text. */
export type LintSourceResult =
  | { readonly parsed: boolean; readonly findings: Finding[]; readonly suppressedCount: number }
  | { readonly parsed: true; readonly skipped: { reason: string; line: number; column: number } };

/**
 * Lints one file's text: text pre-filter, parse, rule, suppression comments. Pure (no I/O), so
 * the CLI runner and tests share it.
 */
export function lintSource(fileName: string, text: string): LintSourceResult {
  if (!mightContainDiscovery(text)) return { parsed: false, findings: [], suppressedCount: 0 };
  const parsed = parseSource(fileName, text);
  if (!parsed.ok)
    return { parsed: true, skipped: { reason: parsed.message, line: parsed.line, column: parsed.column } };
  const { kept, suppressed } = applySuppressions(noSelfDisablingDiscovery(parsed.sourceFile), text);
  return { parsed: true, findings: kept, suppressedCount: suppressed.length };
}

/**
 * Lints files and directories with `no-self-disabling-discovery`. Files that cannot be read or
 * parsed are listed in `skipped` with the reason, and the run continues.
 *
 * @example
 * ```ts
 * const report = lintFiles(['src'], { cwd: process.cwd() });
 * if (report.errorCount > 0) process.exitCode = 1;
 * ```
 */
export function lintFiles(paths: readonly string[], options: LintFilesOptions): LintReport {
  const targets = listLintTargets(paths, options.cwd);
  const findings: FileFinding[] = [];
  const skipped: SkippedFile[] = [];
  let filesParsed = 0;
  let suppressedCount = 0;
  targets.forEach((absolute, index) => {
    const file = relative(options.cwd, absolute).split(sep).join('/') || absolute;
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (error) {
      skipped.push({ file, reason: `cannot read: ${(error as Error).message}` });
      return;
    }
    let result: LintSourceResult;
    try {
      result = lintSource(absolute, text);
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
    options.onProgress?.(index + 1, targets.length);
  });
  return {
    rules: [noSelfDisablingDiscoveryMeta],
    findings,
    skipped,
    filesLinted: targets.length,
    filesParsed,
    suppressedCount,
    errorCount: findings.filter((finding) => finding.severity === 'error').length,
    warningCount: findings.filter((finding) => finding.severity === 'warning').length,
  };
}
