import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mightContainDiscovery, noSelfDisablingDiscovery, parseSource } from '../../codemods/lint/index.js';

/**
 * One fixture pair per scenario: `<case>.ts|js` is the code as a service would write it, and
 * `<case>.expected.json` lists the findings (line, column, severity, a message substring). An empty
 * list is a look-alike that must stay clean. The case name is the sentence; a case about the file's
 * own name says on its first line what path it is linted as.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'lint');

interface ExpectedFinding {
  line: number;
  column: number;
  severity: 'error' | 'warning';
  message: string;
}

const cases = readdirSync(FIXTURES)
  .filter((name) => /\.(ts|tsx|js)$/.test(name))
  .sort()
  .map((name) => ({ name, caseName: name.replace(/\.(ts|tsx|js)$/, '') }));

describe('no-self-disabling-discovery fixtures', () => {
  it('has at least 25 cases, with both findings and clean look-alikes', () => {
    const expectations = cases.map(({ caseName }) => readExpected(caseName));
    expect(cases.length).toBeGreaterThanOrEqual(25);
    expect(expectations.filter((findings) => findings.length === 0).length).toBeGreaterThanOrEqual(10);
    expect(
      expectations.filter((findings) => findings.some((f) => f.severity === 'error')).length,
    ).toBeGreaterThanOrEqual(8);
    expect(
      expectations.filter((findings) => findings.some((f) => f.severity === 'warning')).length,
    ).toBeGreaterThanOrEqual(8);
  });

  it.each(cases)('$caseName', ({ name, caseName }) => {
    const text = readFileSync(join(FIXTURES, name), 'utf8');
    // `// Linted as lib/discovery/ssdp.js` on the first line: a case about where the file sits.
    const lintedAs = /^\/\/ Linted as (\S+)/.exec(text)?.[1] ?? name;
    const parsed = parseSource(lintedAs, text);
    if (!parsed.ok) throw new Error(`fixture ${name} does not parse: ${parsed.message}`);
    const actual = noSelfDisablingDiscovery(parsed.sourceFile);
    const expected = readExpected(caseName);
    expect(
      actual.map((finding) => ({ line: finding.line, column: finding.column, severity: finding.severity })),
    ).toEqual(expected.map(({ line, column, severity }) => ({ line, column, severity })));
    // The runner's text pre-filter must let through every file the rule has something to say about.
    if (expected.length > 0) expect(mightContainDiscovery(text)).toBe(true);
    actual.forEach((finding, index) => {
      expect(finding.message).toContain(expected[index]?.message);
      expect(finding.ruleId).toBe('no-self-disabling-discovery');
      // Every message says what to do, not only what is wrong.
      expect(finding.message).toContain('lease/bus');
      expect(finding.endLine * 10_000 + finding.endColumn).toBeGreaterThan(
        finding.line * 10_000 + finding.column,
      );
    });
  });
});

function readExpected(caseName: string): ExpectedFinding[] {
  return JSON.parse(readFileSync(join(FIXTURES, `${caseName}.expected.json`), 'utf8')) as ExpectedFinding[];
}
