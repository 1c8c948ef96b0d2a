import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { score } from '../../bench/lint-corpus.js';
import type { FileFinding } from '../../codemods/lint/index.js';

/**
 * The verdict file is appended to by hand and by merge scripts, batch after batch: these checks keep
 * it one consistent record (every site belongs to a listed project, one verdict per place, known
 * kinds and sets), and pin the scoring arithmetic the figures in docs/lint.md come from.
 */
const VERDICTS = new URL('../../test/lint-corpus/verdicts.json', import.meta.url);

interface Verdicts {
  about: string;
  projects: { repo: string; commit: string; what: string; set?: string }[];
  sites: { repo: string; path: string; line: number; kind: string; expected: string; reason: string }[];
}

const verdicts = JSON.parse(readFileSync(VERDICTS, 'utf8')) as Verdicts;
const KINDS = new Set(['error-listener', 'try-catch', 'promise-catch', 'callback', 'promise-allsettled']);

describe('test/lint-corpus/verdicts.json', () => {
  it('lists each project once, at a full commit, in a known set that "about" describes', () => {
    const repos = verdicts.projects.map((project) => project.repo);
    expect(new Set(repos).size).toBe(repos.length);
    for (const project of verdicts.projects) {
      expect(project.commit, project.repo).toMatch(/^[0-9a-f]{40}$/);
      expect(project.what.length, project.repo).toBeGreaterThan(10);
      if (project.set !== undefined) {
        expect(project.set, project.repo).toMatch(/^held-out(-\d+)?$/);
        expect(verdicts.about, `about names ${project.set}`).toContain(`"set": "${project.set}"`);
      }
    }
  });

  it('gives each judged place one verdict, of a known kind, with a reason, in a listed project', () => {
    const repos = new Set(verdicts.projects.map((project) => project.repo));
    const places = new Set<string>();
    for (const site of verdicts.sites) {
      const place = `${site.repo}:${site.path}:${site.line}`;
      expect(repos.has(site.repo), place).toBe(true);
      expect(places.has(place), `${place} judged twice`).toBe(false);
      places.add(place);
      expect(KINDS.has(site.kind), `${place} kind ${site.kind}`).toBe(true);
      expect(['finding', 'clean'], place).toContain(site.expected);
      expect(Number.isInteger(site.line) && site.line > 0, place).toBe(true);
      expect(site.reason.length, place).toBeGreaterThan(10);
    }
  });
});

describe('bench:lint-corpus scoring', () => {
  const finding = (file: string, line: number, severity: 'error' | 'warning' = 'warning'): FileFinding =>
    ({
      file,
      line,
      column: 1,
      endLine: line,
      endColumn: 2,
      severity,
      message: 'm',
      ruleId: 'r',
    }) as FileFinding;

  it('counts a miss, a hit, a false finding in a scored file and whole-repository false findings', () => {
    const result = score(
      {
        projects: [{ repo: 'o/a', commit: 'c', what: 'w' }],
        sites: [
          { repo: 'o/a', path: 'x.js', line: 3, kind: 'try-catch', expected: 'finding', reason: 'r' },
          { repo: 'o/a', path: 'x.js', line: 9, kind: 'callback', expected: 'finding', reason: 'r' },
          { repo: 'o/a', path: 'x.js', line: 20, kind: 'try-catch', expected: 'clean', reason: 'r' },
        ],
      },
      new Map([['o/a', [finding('x.js', 3), finding('x.js', 20), finding('y.js', 5, 'error')]]]),
    );
    expect(result.truePositives).toBe(1);
    expect(result.recall).toBe(0.5);
    // The finding in y.js is not in a scored file: it counts per project, not against precision.
    expect(result.precision).toBe(0.5);
    expect(result.falseNegatives).toHaveLength(1);
    expect(result.falseNegatives[0]).toContain('o/a:x.js:9 (callback)');
    expect(result.byKind.get('try-catch')).toEqual({ found: 1, total: 1 });
    expect(result.byKind.get('callback')).toEqual({ found: 0, total: 1 });
    expect(result.perProject[0]?.falseErrors).toHaveLength(1);
    expect(result.perProject[0]?.falseWarnings).toHaveLength(1);
  });

  it('scores clear-cut verdicts apart from those whose reason says "judgement call"', () => {
    const result = score(
      {
        projects: [{ repo: 'o/a', commit: 'c', what: 'w' }],
        sites: [
          { repo: 'o/a', path: 'x.js', line: 3, kind: 'try-catch', expected: 'finding', reason: 'r' },
          { repo: 'o/a', path: 'x.js', line: 9, kind: 'callback', expected: 'finding', reason: 'r' },
          {
            repo: 'o/a',
            path: 'x.js',
            line: 20,
            kind: 'try-catch',
            expected: 'clean',
            reason: 'Judgement call: per-peer',
          },
          {
            repo: 'o/a',
            path: 'x.js',
            line: 30,
            kind: 'try-catch',
            expected: 'finding',
            reason: 'judgement call (rare)',
          },
        ],
      },
      new Map([['o/a', [finding('x.js', 3), finding('x.js', 20), finding('x.js', 30)]]]),
    );
    expect(result.byCertainty.clearCut).toEqual({ found: 1, findings: 2, reportedClean: 0 });
    expect(result.byCertainty.judgementCall).toEqual({ found: 1, findings: 1, reportedClean: 1 });
  });
});
