import { lintSource } from './lint-source.js';
import { lintFilesWith, type LintFilesOptions, type LintReport } from './lint-run.js';

export type { LintFilesOptions, LintReport, SkippedFile } from './lint-run.js';
export { lintSource };
export type { LintSourceResult } from './lint-source.js';

/**
 * Lints files and directories with `no-self-disabling-discovery`. Files that cannot be read or
 * parsed are listed in `skipped` with the reason, and the run continues; folders and files the walk
 * left out (unreadable, `node_modules`, tests) are in `notLinted`.
 *
 * @example
 * ```ts
 * const report = lintFiles(['src'], { cwd: process.cwd() });
 * if (report.errorCount > 0) process.exitCode = 1;
 * ```
 */
export function lintFiles(paths: readonly string[], options: LintFilesOptions): LintReport {
  return lintFilesWith(paths, options, lintSource);
}
