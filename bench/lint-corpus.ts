/**
 * bench:lint-corpus — scores `no-self-disabling-discovery` against real public code: the handler
 * sites judged in `test/lint-corpus/verdicts.json`, and whole-repository runs of the same projects.
 * It fetches nothing: pass a folder holding one snapshot per project, named `<owner>+<name>`, at
 * the commit the verdict file lists (docs/lint.md says how to make it).
 *
 * Prints recall and precision over the scored sites (a finding anywhere in a scored file that is
 * not a scored site counts against precision), per-kind recall, and per project the findings of a
 * whole-repository run (default options, as `gossipless lint .` would) that are not expected, at
 * error and warning level. Exit 1 when a goal is missed (recall or precision < 95 %, or more than
 * one false error-level finding in a project), so it can gate a change to the rule.
 *
 * Usage: `npm run bench:lint-corpus -- --corpus /path/to/snapshots [--verbose]`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lintFiles, type FileFinding } from '../codemods/lint/index.js';

interface Verdicts {
  /** `set: 'held-out'`: added after the rule was changed against the others (reported apart). */
  readonly projects: readonly { repo: string; commit: string; what: string; set?: string }[];
  readonly sites: readonly {
    repo: string;
    path: string;
    line: number;
    kind: string;
    expected: 'finding' | 'clean';
    reason: string;
  }[];
}

/** Whether the readers marked a verdict "judgement call" in its reason, or judged it clear-cut. */
export type Certainty = 'clearCut' | 'judgementCall';

/** Hits and misses among the sites of one certainty; precision here is over judged sites only. */
export interface CertaintyScore {
  found: number;
  findings: number;
  /** Sites judged clean that the rule reported. */
  reportedClean: number;
}

function certaintyOf(reason: string): Certainty {
  return /judgement call/i.test(reason) ? 'judgementCall' : 'clearCut';
}

/** The verdict-file arithmetic, apart from any file system, so it can be checked on its own. */
export function score(
  verdicts: Verdicts,
  findingsByRepo: ReadonlyMap<string, readonly FileFinding[]>,
): {
  truePositives: number;
  falseNegatives: string[];
  falsePositives: string[];
  recall: number;
  precision: number;
  byKind: Map<string, { found: number; total: number }>;
  byCertainty: Record<Certainty, CertaintyScore>;
  perProject: { repo: string; falseErrors: string[]; falseWarnings: string[] }[];
} {
  const key = (repo: string, path: string, line: number): string => `${repo}:${path}:${line}`;
  const expected = new Map(verdicts.sites.map((site) => [key(site.repo, site.path, site.line), site]));
  const scoredFiles = new Set(verdicts.sites.map((site) => `${site.repo}:${site.path}`));
  let truePositives = 0;
  const falseNegatives: string[] = [];
  const falsePositives: string[] = [];
  const byKind = new Map<string, { found: number; total: number }>();
  const byCertainty: Record<Certainty, CertaintyScore> = {
    clearCut: { found: 0, findings: 0, reportedClean: 0 },
    judgementCall: { found: 0, findings: 0, reportedClean: 0 },
  };
  const perProject: { repo: string; falseErrors: string[]; falseWarnings: string[] }[] = [];
  for (const { repo } of verdicts.projects) {
    const findings = findingsByRepo.get(repo) ?? [];
    const reported = new Set(findings.map((finding) => key(repo, finding.file, finding.line)));
    for (const site of verdicts.sites.filter((candidate) => candidate.repo === repo)) {
      const certainty = byCertainty[certaintyOf(site.reason)];
      const isReported = reported.has(key(repo, site.path, site.line));
      if (site.expected !== 'finding') {
        if (isReported) certainty.reportedClean += 1;
        continue;
      }
      const kind = byKind.get(site.kind) ?? { found: 0, total: 0 };
      kind.total += 1;
      certainty.findings += 1;
      if (isReported) {
        truePositives += 1;
        kind.found += 1;
        certainty.found += 1;
      } else {
        falseNegatives.push(`${key(repo, site.path, site.line)} (${site.kind}): ${site.reason}`);
      }
      byKind.set(site.kind, kind);
    }
    const falseErrors: string[] = [];
    const falseWarnings: string[] = [];
    for (const finding of findings) {
      const id = key(repo, finding.file, finding.line);
      if (expected.get(id)?.expected === 'finding') continue;
      const described = `${id} ${finding.severity}: ${finding.message.slice(0, 120)}`;
      if (scoredFiles.has(`${repo}:${finding.file}`)) falsePositives.push(described);
      (finding.severity === 'error' ? falseErrors : falseWarnings).push(described);
    }
    perProject.push({ repo, falseErrors, falseWarnings });
  }
  const positives = truePositives + falseNegatives.length;
  return {
    truePositives,
    falseNegatives,
    falsePositives,
    recall: positives === 0 ? 1 : truePositives / positives,
    precision:
      truePositives + falsePositives.length === 0
        ? 1
        : truePositives / (truePositives + falsePositives.length),
    byKind,
    byCertainty,
    perProject,
  };
}

/** The projects of one set (`first` = those without a `set`) and their sites. */
function subset(verdicts: Verdicts, set: string): Verdicts {
  const projects = verdicts.projects.filter((project) => (project.set ?? 'first') === set);
  const repos = new Set(projects.map((project) => project.repo));
  return { projects, sites: verdicts.sites.filter((site) => repos.has(site.repo)) };
}

function printScores(
  result: ReturnType<typeof score>,
  set: string | undefined,
  percent: (value: number) => string,
): void {
  const positives = result.truePositives + result.falseNegatives.length;
  console.log('');
  console.log(set === undefined ? 'all projects:' : `set ${set}:`);
  console.log(`  recall    ${percent(result.recall)} (${result.truePositives}/${positives})`);
  console.log(
    `  precision ${percent(result.precision)} (${result.truePositives}/${result.truePositives + result.falsePositives.length}, ` +
      'every finding in a scored file counted)',
  );
  for (const [kind, { found, total }] of [...result.byKind].sort())
    console.log(`    ${kind}: ${found}/${total}`);
  // The readers' own doubt, apart: a rule cannot be held to 95 % on verdicts its judges call close.
  for (const [certainty, label] of [
    ['clearCut', 'clear-cut verdicts'],
    ['judgementCall', '"judgement call" verdicts'],
  ] as const) {
    const { found, findings, reportedClean } = result.byCertainty[certainty];
    const ratio = (part: number, whole: number): string => (whole === 0 ? '-' : percent(part / whole));
    console.log(
      `  ${label}: recall ${ratio(found, findings)} (${found}/${findings}), ` +
        `precision on judged sites ${ratio(found, found + reportedClean)} (${found}/${found + reportedClean})`,
    );
  }
  const falseErrors = result.perProject.reduce((sum, project) => sum + project.falseErrors.length, 0);
  const falseWarnings = result.perProject.reduce((sum, project) => sum + project.falseWarnings.length, 0);
  const worst = Math.max(0, ...result.perProject.map((project) => project.falseErrors.length));
  console.log(
    `  whole repositories: ${falseErrors} false errors (at most ${worst} in one project), ${falseWarnings} false warnings`,
  );
}

function main(): void {
  const index = process.argv.indexOf('--corpus');
  const corpus = index >= 0 ? process.argv[index + 1] : undefined;
  const verbose = process.argv.includes('--verbose');
  if (corpus === undefined) {
    console.error('usage: npm run bench:lint-corpus -- --corpus <folder of <owner>+<name> snapshots>');
    process.exit(2);
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const verdicts = JSON.parse(readFileSync(join(root, 'test/lint-corpus/verdicts.json'), 'utf8')) as Verdicts;
  const findingsByRepo = new Map<string, readonly FileFinding[]>();
  const missing: string[] = [];
  const started = performance.now();
  for (const { repo } of verdicts.projects) {
    const directory = join(corpus, repo.replace('/', '+'));
    if (!existsSync(directory)) {
      missing.push(repo);
      continue;
    }
    findingsByRepo.set(repo, lintFiles(['.'], { cwd: directory }).findings);
  }
  if (missing.length > 0) {
    console.error(`missing snapshots (score would be wrong): ${missing.join(', ')}`);
    process.exit(2);
  }
  const result = score(verdicts, findingsByRepo);
  const percent = (value: number): string => `${(value * 100).toFixed(1)} %`;
  const positives = result.truePositives + result.falseNegatives.length;
  console.log(
    `corpus: ${verdicts.projects.length} projects, ${verdicts.sites.length} scored sites ` +
      `(${positives} expected findings), linted in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const sets = [...new Set(verdicts.projects.map((project) => project.set ?? 'first'))];
  for (const set of sets.length > 1 ? [undefined, ...sets] : [undefined]) {
    printScores(set === undefined ? result : score(subset(verdicts, set), findingsByRepo), set, percent);
  }
  console.log('');
  console.log('| project | set | false errors | false warnings |');
  console.log('|---|---|---:|---:|');
  const setOf = new Map(verdicts.projects.map((project) => [project.repo, project.set ?? 'first']));
  for (const project of result.perProject) {
    console.log(
      `| ${project.repo} | ${setOf.get(project.repo)} | ${project.falseErrors.length} | ${project.falseWarnings.length} |`,
    );
  }
  const lists: [string, readonly string[]][] = [
    ['missed', result.falseNegatives],
    ['false in scored files', result.falsePositives],
    [
      'unexpected whole-repository findings',
      result.perProject.flatMap((p) => [...p.falseErrors, ...p.falseWarnings]),
    ],
  ];
  for (const [title, items] of lists) {
    if (items.length === 0 || (!verbose && title.startsWith('unexpected'))) continue;
    console.log(`\n${title}:`);
    for (const item of items) console.log(`  ${item}`);
  }
  const failed =
    result.recall < 0.95 ||
    result.precision < 0.95 ||
    result.perProject.some((project) => project.falseErrors.length > 1);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
