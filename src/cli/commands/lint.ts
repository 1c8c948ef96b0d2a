import { Command, Option } from '@commander-js/extra-typings';
import type { CommandContext } from '../command-context.js';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GossiplessError } from '@gossipless/runtime/errors';
import { TOOLKIT_VERSION as VERSION } from '../../toolkit/version.js';
import { ExitCode, type CliIo } from '../io.js';

/** `gossipless lint`: its options and help; the work is in {@link run}. */
export function lintCommand(context: CommandContext) {
  return new Command('lint')
    .description(
      'find catch blocks, promise .catch() and error handlers around peer discovery that swallow the failure\n' +
        'or switch discovery off (rule no-self-disabling-discovery); exit 1 when a finding is at error level',
    )
    .argument('[paths...]', 'files or directories to lint (default: the current directory)')
    .addOption(
      new Option('--format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'),
    )
    .option('--output <file>', 'write the report to this file instead of stdout')
    .action(async (paths: string[], options) =>
      context.setExitCode(await run({ ...options, paths }, context.io)),
    );
}

/** Options of `gossipless lint`. */
export interface LintCommandOptions {
  /** Files or directories; the working directory when empty. */
  paths?: string[];
  /** @default 'text' */
  format?: 'text' | 'json' | 'sarif';
  /** Write the report here instead of stdout. */
  output?: string;
}

const TOOL_VERSION = VERSION;

/** Minimum time between two progress refreshes, so a fast run is not slowed by its own display. */
const PROGRESS_INTERVAL_MS = 100;

/** A one-line "linted 1200/7641 files" on stderr, refreshed in place; only used on a terminal. */
function progressLine(io: CliIo): { update: (done: number, total: number) => void; finish: () => void } {
  let lastDrawn = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - lastDrawn < PROGRESS_INTERVAL_MS && done !== total) return;
      lastDrawn = now;
      drawn = true;
      io.stderr(`\rlinted ${done}/${total} files`);
    },
    finish() {
      if (drawn) io.stderr('\r\u001b[K');
    },
  };
}

/**
 * Lints the paths and prints (or writes) the report. Exit codes as ESLint: 0 when no finding is at
 * error level, 1 when one is; usage and internal errors become 2 in `runCli`.
 */
export async function run(options: LintCommandOptions, io: CliIo): Promise<number> {
  // The parser is loaded when lint runs, not when the CLI starts.
  const { formatJson, formatSarif, formatText, lintFiles } = await import('../../../codemods/lint/index.js');
  const format = options.format ?? 'text';
  const progress = io.isTTY ? progressLine(io) : undefined;
  const report = lintFiles(options.paths ?? [], { cwd: io.cwd, onProgress: progress?.update });
  progress?.finish();
  const readSource = (file: string): string | undefined => {
    try {
      return readFileSync(resolve(io.cwd, file), 'utf8');
    } catch {
      return undefined; // the code frame and fingerprint degrade; the finding itself stands
    }
  };
  let output: string;
  if (format === 'json') output = formatJson(report);
  else if (format === 'sarif')
    output = formatSarif(report, { cwd: io.cwd, readSource, toolVersion: TOOL_VERSION });
  else output = formatText(report, { color: options.output === undefined && io.color, readSource });

  if (options.output === undefined) {
    io.stdout(output);
  } else {
    const target = resolve(io.cwd, options.output);
    try {
      mkdirSync(dirname(target), { recursive: true });
      // Written whole or not at all: CI uploads this file, a half-written SARIF would be rejected.
      const temporary = `${target}.${process.pid}.tmp`;
      writeFileSync(temporary, output);
      renameSync(temporary, target);
    } catch (error) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `cannot write the lint report to "${options.output}": ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return report.errorCount > 0 ? ExitCode.Findings : ExitCode.Ok;
}
