/**
 * The lint's second door, for callers that must start fast (the CLI): the runner that loads the
 * TypeScript parser only when a file passes the text pre-filter, and the formatters. Nothing
 * imported from here loads the parser. Everything else goes through `index.ts`.
 *
 * @packageDocumentation
 */
export { lintFilesLazily } from './lint-run.js';
export type { LintFilesOptions, LintReport, SkippedFile } from './lint-run.js';
export type { WalkNotes } from './walk-files.js';
export { formatText } from './formatters/format-text.js';
export { formatJson } from './formatters/format-json.js';
export { formatSarif } from './formatters/format-sarif.js';
