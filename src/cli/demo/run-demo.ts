import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot, type DemoContext } from './demo-context.js';
import type { DemoSummary } from './demo-summary.js';
import { runEdgePhase } from './edge-phase.js';
import { runLegacyPhase } from './legacy-phase.js';
import { runMigratePhase } from './migrate-phase.js';
import { runMigratedPhase } from './migrated-phase.js';
import { renderTimelineSvg } from './timeline-svg.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where summary.json, timeline.svg and the edge configs go. @default a new temp folder */
  reportDir?: string;
  /** Sweep period of the example service. @default 1000 */
  sweepEveryMs?: number;
  /** How replicas are kept apart in the legacy run. @default 'auto' (netns when root, else ports) */
  isolation?: 'auto' | 'netns' | 'ports';
  /** Progress lines (the CLI prints them to stderr). */
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

const EXAMPLE = 'examples/legacy-auth-service';

/**
 * The whole story on a local Azurite: the legacy service split-brained, the lint finding, the
 * migration, the migrated service with one sweep per tick through a kill -9 and a graceful stop,
 * and the edge configs. Returns the summary; writes summary.json and timeline.svg.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const root = await packageRoot();
  const work = await mkdtemp(path.join(tmpdir(), 'gossipless-demo-'));
  const reportDir = path.resolve(options.reportDir ?? path.join(work, 'report'));
  await mkdir(reportDir, { recursive: true });
  const everyMs = options.sweepEveryMs ?? 1000;
  // The replicas get storage only where the demo says so, never from the caller's environment.
  const {
    AZURE_STORAGE_CONNECTION_STRING: _storage,
    GOSSIPLESS_CLUSTER: _cluster,
    ...callerEnv
  } = process.env;
  const context: DemoContext = {
    say: options.progress ?? (() => undefined),
    everyMs,
    signal: options.signal,
    root,
    example: path.join(root, EXAMPLE),
    work,
    baseEnv: { ...callerEnv, SWEEP_EVERY_MS: String(everyMs), LOG_LEVEL: 'info' },
    replicas: [],
    cleanups: [],
    problems: [],
    isolation: options.isolation ?? 'auto',
  };
  try {
    const legacy = await runLegacyPhase(context);
    const migration = await runMigratePhase(context, legacy.legacyDir);
    const after = await runMigratedPhase(context, migration.migratedDir);
    const edge = await runEdgePhase(
      context,
      migration.rulesFile,
      migration.migrate.rateLimitsExtracted,
      reportDir,
    );
    const summary: DemoSummary = {
      storyHeld: context.problems.length === 0,
      problems: context.problems,
      isolation: legacy.isolation,
      sweepEveryMs: everyMs,
      legacy: legacy.legacy,
      lint: migration.lint,
      migrate: migration.migrate,
      migrated: after.migrated,
      failover: after.failover,
      epochs: after.epochs,
      edge,
      reportDir,
      timeline: { legacy: legacy.timeline, migrated: after.timeline },
    };
    context.say('5/5 summary.json and timeline.svg');
    await writeFile(path.join(reportDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    await writeFile(path.join(reportDir, 'timeline.svg'), renderTimelineSvg(summary));
    return summary;
  } finally {
    await Promise.all(context.replicas.map((r) => r.stop('SIGKILL')));
    for (const cleanup of context.cleanups.reverse()) await cleanup().catch(() => undefined);
    await rm(path.join(work, 'legacy'), { recursive: true, force: true });
    await rm(path.join(work, 'migrated'), { recursive: true, force: true });
  }
}
