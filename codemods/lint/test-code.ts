/*
 * What counts as test or example code: not walked inside folders unless `includeTests`. Its own
 * module, free of dependencies, so the CLI can describe it in `--help` without loading the walk.
 */

/**
 * Test and example code: it asserts failures, or prints them to whoever runs the demo, and tears sockets down on purpose, which is not the production
 * start-up path the rule is about. Skipped inside folders unless `includeTests`; a file named
 * explicitly is linted.
 */
export const TEST_DIRECTORIES = new Set([
  'test',
  'tests',
  '__tests__',
  'spec',
  '__mocks__',
  'e2e',
  'example',
  'examples',
  'sample',
  'samples',
]);
/** What counts as test or example code, in words (the CLI's `--include-tests` help reads it). */
export const TEST_CODE_DESCRIPTION = `*.test.*, *.spec.*, *.e2e.*, a file named test.js / tests.js / spec.js / example.js / sample.js, and anything under ${[
  ...TEST_DIRECTORIES,
]
  .map((name) => `${name}/`)
  .join(', ')}`;

/**
 * `a.test.ts`, `b.spec.js`, and a file named only `test.js` / `tests.ts` (a package's whole test
 * suite) or `example.js` / `samples.ts` (the usage demo a package keeps beside its README).
 */
export const TEST_FILE =
  /(\.(test|spec|e2e)|(^|[\\/])(test|tests|spec|example|examples|sample|samples))\.[cm]?[jt]sx?$/i;
