import type { Finding } from './finding.js';
import { parseSource } from './parse-source.js';
import { mightContainDiscovery } from './prefilter.js';
import { noSelfDisablingDiscovery } from './rules/no-self-disabling-discovery/index.js';
import { applySuppressions } from './suppressions.js';

/** The result of linting one file's text. */
export type LintSourceResult =
  | { readonly parsed: boolean; readonly findings: Finding[]; readonly suppressedCount: number }
  | { readonly parsed: true; readonly skipped: { reason: string; line: number; column: number } };

/**
 * Lints one file's text: text pre-filter, parse, rule, suppression comments. Pure (no I/O), so
 * the CLI runner, the ESLint plugin and tests share it. This module loads the TypeScript parser.
 *
 * @example
 * ```ts
 * const result = lintSource('a.ts', text);
 * if ('findings' in result) console.log(result.findings.length);
 * ```
 */
export function lintSource(fileName: string, text: string): LintSourceResult {
  if (!mightContainDiscovery(text)) return { parsed: false, findings: [], suppressedCount: 0 };
  const parsed = parseSource(fileName, text);
  if (!parsed.ok)
    return { parsed: true, skipped: { reason: parsed.message, line: parsed.line, column: parsed.column } };
  const { kept, suppressed } = applySuppressions(noSelfDisablingDiscovery(parsed.sourceFile), text);
  return { parsed: true, findings: kept, suppressedCount: suppressed.length };
}
