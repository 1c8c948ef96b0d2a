import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
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
  const lintRun = await context.runCommand(['lint', 'src', '--format', 'json'], legacyDir);
  const findings =
    (JSON.parse(lintRun.stdout) as { findings?: Array<{ file: string; line: number; severity: string }> })
      .findings ?? [];
  const lint = {
    findings: findings.length,
    errors: findings.filter((f) => f.severity === 'error').length,
    locations: findings.map((f) => `${f.file}:${f.line}`),
  };
  say(`    lint: ${lint.errors} error(s) at ${lint.locations.join(', ') || '–'}`);
  if (lint.errors === 0) problems.push('lint did not find the self-disabling discovery handler');

  const migratedDir = path.join(context.work, 'migrated');
  await copyExample(context.example, migratedDir);
  const migrateRun = await context.runCommand(['migrate', migratedDir, '--write', '--json', '--force']);
  const report = JSON.parse(migrateRun.stdout) as { counts?: { changed?: number }; needsHuman?: unknown[] };
  const rulesFile = path.join(migratedDir, 'gossipless.rate-limits.json');
  const rules = existsSync(rulesFile)
    ? ((JSON.parse(await readFile(rulesFile, 'utf8')) as { rules?: unknown[] }).rules ?? [])
    : [];
  const migrate = {
    filesChanged: report.counts?.changed ?? 0,
    rateLimitsExtracted: rules.length,
    needsHuman: report.needsHuman?.length ?? 0,
  };
  say(
    `    migrate: ${migrate.filesChanged} file(s) changed, ${migrate.rateLimitsExtracted} rate limit(s) extracted`,
  );
  if (migrate.filesChanged === 0) problems.push('migrate changed nothing');
  return { lint, migrate, migratedDir, rulesFile };
}
