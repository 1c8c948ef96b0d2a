import { Command, Option } from '@commander-js/extra-typings';
import type { CommandContext } from '../command-context.js';
import path from 'node:path';
import pc from 'picocolors';
import type { DemoSummary } from '../demo/index.js';
import { formatDuration, textTable } from '../format.js';
import { ExitCode, type CliIo } from '../io.js';

/** `gossipless demo`: its options and help; the work is in {@link run}. */
export function demoCommand(context: CommandContext) {
  return new Command('demo')
    .description(
      'the whole story on an embedded Azurite, no Azure account, about a minute: 3 replicas of the legacy\n' +
        'example where multicast is not carried (every sweep runs 3 times), lint finds the catch, migrate\n' +
        'rewrites a copy, 3 migrated replicas (one sweep per tick) through kill -9 and SIGTERM, edge configs.\n' +
        'Exit 0 only when the story held.',
    )
    .option(
      '--report <dir>',
      'write summary.json, timeline.svg and the edge configs here (default: a temp dir)',
    )
    .option('--json', 'print the summary as one JSON document')
    .addOption(
      new Option(
        '--isolation <kind>',
        'how legacy replicas are kept apart (auto: netns when root, else ports)',
      )
        .choices(['auto', 'netns', 'ports'])
        .default('auto'),
    )
    .action(async (options) => context.setExitCode(await run(options, context.io)));
}

/** Options of `gossipless demo`. */
export interface DemoCommandOptions {
  report?: string;
  json?: boolean;
  isolation?: 'auto' | 'netns' | 'ports';
  sweepEveryMs?: number;
}

/** Runs the demo; exit 0 only when the story held. */
export async function run(options: DemoCommandOptions, io: CliIo): Promise<number> {
  const { runDemo } = await import('../demo/index.js');
  const summary = await runDemo({
    reportDir: options.report ? path.resolve(io.cwd, options.report) : undefined,
    isolation: options.isolation,
    sweepEveryMs: options.sweepEveryMs,
    signal: io.signal,
    progress: (line) => io.stderr(`${line}\n`),
  });
  io.stdout(
    options.json ? JSON.stringify(summaryForJson(summary), null, 2) + '\n' : render(summary, io.color),
  );
  return summary.storyHeld ? ExitCode.Ok : ExitCode.Findings;
}

function summaryForJson(summary: DemoSummary): Omit<DemoSummary, 'timeline'> {
  const { timeline: _timeline, ...rest } = summary;
  return rest;
}

function render(s: DemoSummary, color: boolean): string {
  const c = color ? pc : pc.createColors(false);
  const rows = [
    [
      'sweeps per tick',
      `${s.legacy.sweepsPerTick} (${s.legacy.replicasThatSwept} replicas think they are master)`,
      `${s.migrated.minSweepsPerTick === s.migrated.maxSweepsPerTick ? s.migrated.minSweepsPerTick : `${s.migrated.minSweepsPerTick}–${s.migrated.maxSweepsPerTick}`} over ${s.migrated.steadyTicks} steady ticks`,
    ],
    [
      'discovery failure',
      `swallowed (lint: ${s.lint.errors} error(s) at ${s.lint.locations.join(', ')})`,
      'nothing to discover: blob lease + table',
    ],
    [
      'crash failover (kill -9)',
      '–',
      `${formatDuration(s.failover.crash.ms)}: ${s.failover.crash.killed} → ${s.failover.crash.newLeader}, epoch ${s.failover.crash.epochBefore} → ${s.failover.crash.epochAfter}`,
    ],
    [
      'graceful failover (SIGTERM)',
      '–',
      `${formatDuration(s.failover.graceful.ms)}: ${s.failover.graceful.stopped} → ${s.failover.graceful.newLeader}, epoch ${s.failover.graceful.epochAfter}`,
    ],
    [
      'rate limits',
      'gossiped G-counter in the cluster',
      `${s.migrate.rateLimitsExtracted} moved to the edge (${s.edge.targets.join(', ')})`,
    ],
  ];
  const verdict = s.storyHeld
    ? c.green('The story held: one sweep per tick after migration, epochs increasing.')
    : c.red(`The story did not hold: ${s.problems.join('; ')}`);
  return [
    '',
    textTable(['', 'BEFORE (multicast)', 'AFTER (gossipless)'], rows),
    '',
    `isolation: ${s.isolation.description}`,
    `epochs: ${s.epochs.map((e) => `${e.replica}=${e.epoch}`).join(', ')}`,
    `handover ticks swept twice: ${s.migrated.ticksWithDuplicateSweeps} (the example's own timer decides the tick; cluster.singleton fences it, migration step 6)`,
    `report: ${path.join(s.reportDir, 'summary.json')}, ${path.join(s.reportDir, 'timeline.svg')}, edge configs in ${path.join(s.reportDir, 'edge')}`,
    '',
    verdict,
    '',
  ].join('\n');
}
