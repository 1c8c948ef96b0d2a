import { existsSync, readFileSync } from 'node:fs';
import { ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { discoverFixtures, migrateFixture } from './fixtures.js';

const fixtures = discoverFixtures();

describe('migrate fixture pairs (test/fixtures/migrate/<case>.input.* → <case>.output.*)', () => {
  it('finds the fixture pairs', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(18);
    for (const fixture of fixtures) expect(existsSync(fixture.outputPath), fixture.outputPath).toBe(true);
  });

  describe.each(fixtures.map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    const input = readFileSync(fixture.inputPath, 'utf8');
    const output = readFileSync(fixture.outputPath, 'utf8');

    it('rewrites the input into the expected output', () => {
      const migrated = migrateFixture(fixture, input);
      expect(migrated.parseError).toBeUndefined();
      expect(migrated.text).toBe(output);
    });

    it('produces an output that parses', () => {
      const kind = /\.tsx$/.test(fixture.outputPath)
        ? ts.ScriptKind.TSX
        : /\.(js|mjs|cjs)$/.test(fixture.outputPath)
          ? ts.ScriptKind.JS
          : ts.ScriptKind.TS;
      const parsed = ts.createSourceFile(fixture.outputPath, output, ts.ScriptTarget.Latest, false, kind);
      // parseDiagnostics is internal to TypeScript; it holds the syntax errors found while parsing.
      const diagnostics = (parsed as unknown as { parseDiagnostics: readonly ts.Diagnostic[] })
        .parseDiagnostics;
      expect(
        diagnostics.map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')),
      ).toEqual([]);
    });

    it('reports exactly the expected call sites for a human', () => {
      const { reviews } = migrateFixture(fixture, input);
      const expected = fixture.expected.reviews ?? [];
      expect(reviews.map((review) => review.line)).toEqual(expected.map((review) => review.line));
      expected.forEach((review, index) => expect(reviews[index]!.reason).toContain(review.reason));
    });

    it('extracts exactly the expected rate limits', () => {
      const { rateLimits } = migrateFixture(fixture, input);
      expect(rateLimits.map(({ note: _note, ...limit }) => limit)).toEqual(fixture.expected.rateLimits ?? []);
    });

    it('is idempotent: migrating the output changes nothing and extracts the same limits', () => {
      const again = migrateFixture(fixture, output);
      expect(again.text).toBe(output);
      const first = migrateFixture(fixture, input);
      expect(again.rateLimits).toEqual(first.rateLimits);
    });
  });
});
