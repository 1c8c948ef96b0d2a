/**
 * The lint: rule `no-self-disabling-discovery`, its runner, formatters and ESLint plugin. This file
 * is the folder's only door; the CLI and the package's public API import from here.
 *
 * @packageDocumentation
 */
export {
  noSelfDisablingDiscovery,
  noSelfDisablingDiscoveryMeta,
} from './rules/no-self-disabling-discovery/index.js';
export type { Finding, FileFinding, RuleMeta, Severity } from './finding.js';
export { lintFiles, lintSource } from './lint-files.js';
export { lintFilesLazily, lintFilesWith } from './lint-run.js';
export type { LintText } from './lint-run.js';
export type { LintReport, LintFilesOptions, LintSourceResult, SkippedFile } from './lint-files.js';
export { listLintTargets, walkLintTargets, isOutside } from './walk-files.js';
export type { WalkNotes, WalkOptions, WalkResult } from './walk-files.js';
export { parseSource, LINTED_EXTENSIONS } from './parse-source.js';
export type { ParseResult } from './parse-source.js';
export { mightContainDiscovery } from './prefilter.js';
export { applySuppressions } from './suppressions.js';
export type { SuppressionResult } from './suppressions.js';
export { formatText } from './formatters/format-text.js';
export type { FormatTextOptions } from './formatters/format-text.js';
export { formatJson, LINT_JSON_VERSION } from './formatters/format-json.js';
export { formatSarif } from './formatters/format-sarif.js';
export type { FormatSarifOptions } from './formatters/format-sarif.js';
export { noSelfDisablingDiscoveryRule } from './eslint-plugin.js';
export type { NoSelfDisablingDiscoveryRuleOptions } from './eslint-plugin.js';
