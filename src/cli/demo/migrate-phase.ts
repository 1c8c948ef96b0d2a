import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { lintFiles } from '../../../codemods/lint/index.js';
import { migrate as migrateRepository } from '../../../codemods/migrate/index.js';
import { copyExample, type DemoContext } from './demo-context.js';
import type { DemoSummary } from './demo-summary.js';

/** What step 2 found and produced. */
export interface MigratePhase {
  lint: DemoSummary['lint'];
  migrate: DemoSummary['migrate'];
  migratedDir: string;
  /** The extracted rate limits, for the edge. */
  rulesFile: string;
}

/** Step 2: the lint finds the self-disabling handlers; migrate rewrites a fresh copy. */
export async function runMigratePhase(context: DemoContext, legacyDir: string): Promise<MigratePhase> {
  const { say, problems } = context;
  say('2/5 gossipless lint, then gossipless migrate --write on a copy');
  const lintReport = lintFiles(['src'], { cwd: legacyDir });
  const findings = lintReport.findings;
  const lint = {
    findings: findings.length,
    errors: findings.filter((f) => f.severity === 'error').length,
    locations: findings.map((f) => `${f.file}:${f.line}`),
  };
  say(`    lint: ${lint.errors} error(s) at ${lint.locations.join(', ') || '–'}`);
  if (lint.errors === 0) problems.push('lint did not find the self-disabling discovery handler');

  const migratedDir = path.join(context.work, 'migrated');
  await copyExample(context.example, migratedDir);
  // A fresh copy in a temp folder: no working tree to protect, so no git check (the CLI's --force).
  const report = await migrateRepository({ targetDir: migratedDir, write: true, signal: context.signal });
  const rulesFile = path.join(migratedDir, 'gossipless.rate-limits.json');
  const rules = existsSync(rulesFile)
    ? ((JSON.parse(await readFile(rulesFile, 'utf8')) as { rules?: unknown[] }).rules ?? [])
    : [];
  const migrate = {
    filesChanged: report.counts.changed,
    rateLimitsExtracted: rules.length,
    needsHuman: report.reviews.length,
  };
  say(
    `    migrate: ${migrate.filesChanged} file(s) changed, ${migrate.rateLimitsExtracted} rate limit(s) extracted`,
  );
  if (migrate.filesChanged === 0) problems.push('migrate changed nothing');
  return { lint, migrate, migratedDir, rulesFile };
}
