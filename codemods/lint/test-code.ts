/*
 * What counts as test, example or documentation code: not walked inside folders unless `includeTests`. Its own
 * module, free of dependencies, so the CLI can describe it in `--help` without loading the walk.
 */

/**
 * Test, example and documentation code: it asserts failures, or prints them to whoever runs the
 * demo, or is kept to be read, and tears sockets down on purpose, which is not the production
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
  // Documentation: code kept to be read (snippets, old copies of a module), not run.
  'doc',
  'docs',
]);
/**
 * A folder named for tests in parts (`test-utils`, `integration-tests`, `chip-testing`,
 * `e2e_specs`): one of its `-`/`_`/`.`-separated words is a test word. "attestation" or "contest"
 * are one word each and stay in.
 */
const TEST_DIRECTORY_WORDS = new Set([
  'test',
  'tests',
  'testing',
  'e2e',
  'spec',
  'specs',
  'mocks',
  'fixtures',
]);

/** True for a folder that holds test, example or documentation code: a name in {@link TEST_DIRECTORIES}, or named for tests in parts. */
export function isTestDirectory(name: string): boolean {
  if (TEST_DIRECTORIES.has(name)) return true;
  const words = name.toLowerCase().split(/[-_.]+/);
  return words.length > 1 && words.some((word) => TEST_DIRECTORY_WORDS.has(word));
}

/** What counts as test, example or documentation code, in words (the CLI's `--include-tests` help reads it). */
export const TEST_CODE_DESCRIPTION = `*.test.*, *.spec.*, *.e2e.*, a file named test.js / tests.js / spec.js / example.js / sample.js, and anything under ${[
  ...TEST_DIRECTORIES,
]
  .map((name) => `${name}/`)
  .join(', ')}, and folders named for tests in parts (test-utils/, integration-tests/)`;

/**
 * `a.test.ts`, `b.spec.js`, and a file named only `test.js` / `tests.ts` (a package's whole test
 * suite) or `example.js` / `samples.ts` (the usage demo a package keeps beside its README).
 */
export const TEST_FILE =
  /(\.(test|spec|e2e)|(^|[\\/])(test|tests|spec|example|examples|sample|samples))\.[cm]?[jt]sx?$/i;
