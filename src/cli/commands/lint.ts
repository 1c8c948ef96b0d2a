import { Command, Option } from '@commander-js/extra-typings';
import type { CommandContext } from '../command-context.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GossiplessError } from '@gossipless/runtime/errors';
import { TOOLKIT_VERSION as VERSION } from '../../toolkit/version.js';
import { ExitCode, type CliIo } from '../io.js';
import { ensureOutputDirectory, writeOutputFile } from '../output-file.js';
import { TEST_CODE_DESCRIPTION } from '../../../codemods/lint/test-code.js';

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
    .option(
      '--include-tests',
      `also lint test, example and documentation code inside the folders (${TEST_CODE_DESCRIPTION})`,
    )
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
  /** Also lint test, example and documentation code found inside folders. @default false */
  includeTests?: boolean;
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
  // The light door: the parser is loaded only when some file passes the text pre-filter, so a tree
  // without discovery code is linted at Node's own start-up cost.
  const { formatJson, formatSarif, formatText, lintFilesLazily } =
    await import('../../../codemods/lint/light.js');
  const format = options.format ?? 'text';
  // Refused before the lint runs, not after minutes of work.
  if (options.output === '')
    throw new GossiplessError('INVALID_OPTIONS', "--output '' is empty; name a file");
  const progress = io.isTTY ? progressLine(io) : undefined;
  const report = await lintFilesLazily(options.paths ?? [], {
    cwd: io.cwd,
    includeTests: options.includeTests ?? false,
    onProgress: progress?.update,
  });
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
    // Written whole or not at all: CI uploads this file, a half-written SARIF would be rejected.
    // Its folder is created when the folder's parent exists (`reports/lint.sarif`), never a tree.
    const target = resolve(io.cwd, options.output);
    await ensureOutputDirectory(dirname(target), '--output');
    await writeOutputFile(target, output, { flag: '--output', signal: io.signal });
  }
  return report.errorCount > 0 ? ExitCode.Findings : ExitCode.Ok;
}
