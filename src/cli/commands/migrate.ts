import { Command } from '@commander-js/extra-typings';
import type { CommandContext } from '../command-context.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import type { MigrateReport } from '../../../codemods/migrate/index.js';
import { GossiplessError } from '@gossipless/runtime/errors';
import { ExitCode, type CliIo } from '../io.js';

/** `gossipless migrate`: its options and help; the work is in {@link run}. */
export function migrateCommand(context: CommandContext) {
  return new Command('migrate')
    .description(
      'rewrite a legacy repository onto the gossipless shims (node-discover, swim, in-house modules from\n' +
        'gossipless.config.json), drop transport-only options and extract rate limits; dry run by default',
    )
    .argument('<dir>', 'the repository or folder to migrate')
    .option('--write', 'apply the changes (default: print the diff and write nothing)')
    .option('--json', 'print one JSON document with the diffs, findings and summary')
    .option('--force', 'write even when the target has uncommitted changes, and rewrite read-only files')
    .option('--config <file>', 'config file (default: gossipless.config.json in <dir>)')
    .option(
      '--max-file-size <size>',
      'skip larger files (generated or minified), e.g. 4MiB, 500KiB or bytes (default 1MiB)',
      parseFileSize,
    )
    .action(async (dir: string, options) => context.setExitCode(await run({ ...options, dir }, context.io)));
}

function parseFileSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|KB|K|MiB|MB|M|GiB|GB|G)?$/i.exec(value.trim());
  const unit = (match?.[2] ?? 'b').toLowerCase()[0]!;
  const scale: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  const bytes = match === null ? NaN : Number(match[1]) * (scale[unit] ?? NaN);
  if (!Number.isFinite(bytes) || bytes < 1) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `--max-file-size "${value}" is not a size (e.g. 4MiB, 500KiB, 1048576)`,
    );
  }
  return Math.floor(bytes);
}

/** Options of `gossipless migrate`. */
export interface MigrateCommandOptions {
  /** The repository or folder to migrate, relative to the IO's cwd. */
  dir: string;
  /** Apply the changes (default: dry run). */
  write?: boolean;
  /** Print one JSON document. */
  json?: boolean;
  /** Write even when the target has uncommitted changes, and rewrite read-only files. */
  force?: boolean;
  /** Skip files larger than this many bytes (default 1 MiB). */
  maxFileSize?: number;
  /** Config file (default: `gossipless.config.json` in the target). */
  config?: string;
}

/** Below this many files a run takes well under a second, and a bar would only flicker. */
const PROGRESS_MIN_FILES = 500;

/**
 * Runs `gossipless migrate <dir>`. Exit codes: 0 when nothing is left to do (no pending change, no
 * call site for a human), 1 when a dry run has changes to apply or call sites, limiters or
 * unparsable files need a human, 2 on usage or internal errors (including files that could not be
 * written, and a refused write on a dirty tree).
 */
export async function run(options: MigrateCommandOptions, io: CliIo): Promise<number> {
  // ts-morph is loaded when migrate runs, not when the CLI starts.
  const migrateModule = await import('../../../codemods/migrate/index.js');
  const { migrate } = migrateModule;
  const dir = options.dir;
  const targetDir = path.resolve(io.cwd, dir);
  const write = options.write ?? false;
  const warnings: string[] = [];

  const configPath = options.config === undefined ? undefined : path.resolve(io.cwd, options.config);
  await assertDirectory(dir, targetDir);
  const resumed = await checkWorkingTree(migrateModule, io, dir, targetDir, configPath, options, warnings);

  const bar = progressBar(io);
  let report: MigrateReport;
  try {
    report = await migrate({
      targetDir,
      write,
      ...(configPath === undefined ? {} : { configPath }),
      ...(options.force ? { force: true } : {}),
      ...(options.maxFileSize === undefined ? {} : { maxFileSize: options.maxFileSize }),
      signal: io.signal,
      onProgress: bar?.update,
    });
  } catch (error) {
    throw oneLine(dir, error);
  } finally {
    bar?.stop();
  }
  if (resumed !== undefined) warnings.push(resumed);

  const parseFailures = report.files.filter(
    (file) => file.status === 'skipped' && file.reason?.startsWith('does not parse'),
  );
  const needsHuman = report.reviews.length > 0 || parseFailures.length > 0;
  const exitCode =
    report.counts.errors > 0
      ? ExitCode.Error
      : needsHuman || (!write && report.counts.changed > 0)
        ? ExitCode.Findings
        : ExitCode.Ok;
  const nextSteps = write ? nextStepsFor(dir, report) : [];

  if (options.json) {
    io.stdout(
      JSON.stringify(
        {
          target: report.target,
          mode: write ? 'write' : 'dry-run',
          configPath: report.configPath ?? null,
          counts: report.counts,
          files: report.files,
          reviews: report.reviews,
          rateLimits: report.rateLimits,
          warnings,
          nextSteps,
          exitCode,
        },
        null,
        2,
      ) + '\n',
    );
    return exitCode;
  }

  printHuman(io, dir, report, write, nextSteps);
  return exitCode;
}

/** The target must be a folder: say so in one line before git or the walk trip over it. */
async function assertDirectory(dir: string, targetDir: string): Promise<void> {
  const targetStat = await stat(targetDir).catch((error: NodeJS.ErrnoException) => {
    throw new GossiplessError(
      'INVALID_INPUT',
      error.code === 'ENOENT'
        ? `${dir} does not exist: pass the folder (repository) to migrate`
        : `${dir} cannot be read (${error.code ?? error.message}): check its permissions`,
    );
  });
  if (!targetStat.isDirectory()) {
    throw new GossiplessError(
      'INVALID_INPUT',
      `${dir} is a file, not a folder: migrate works on a folder; pass the folder that holds it ` +
        `(gossipless migrate ${path.dirname(dir)})`,
    );
  }
}

/**
 * Uncommitted changes refuse a write (unless --force), except what an interrupted `--write` left:
 * its temporary files are removed and the files it already migrated are recognised, so the rerun
 * its message recommends finishes the job. Returns the note to print when it resumes.
 */
async function checkWorkingTree(
  migrateModule: typeof import('../../../codemods/migrate/index.js'),
  io: CliIo,
  dir: string,
  targetDir: string,
  configPath: string | undefined,
  options: MigrateCommandOptions,
  warnings: string[],
): Promise<string | undefined> {
  const git = await migrateModule.gitWorkingTreeStatus(targetDir);
  if (git.changes.length === 0) return undefined;
  const write = options.write ?? false;
  let foreign = git.changes.length;
  if (write && !options.force) {
    const changes = await migrateModule.classifyUncommittedChanges(targetDir, configPath);
    foreign = changes.foreign.length;
    if (foreign === 0) {
      const removed = await migrateModule.removeLeftovers(changes.leftovers);
      const resumed =
        `resuming an interrupted migration: ${changes.migrated.length} file${changes.migrated.length === 1 ? '' : 's'} ` +
        `already migrated, ${removed} temporary file${removed === 1 ? '' : 's'} of the killed run removed`;
      io.stderr(`${paint(io, colours.yellow, 'note:')} ${resumed}\n`);
      return resumed;
    }
  }
  const warning =
    `${dir} has uncommitted changes (${foreign} path${foreign === 1 ? '' : 's'}): ` +
    'commit or stash them first, so the migration is one diff you can review and revert';
  if (write && !options.force) {
    throw new GossiplessError('DIRTY_WORKTREE', `${warning}; or pass --force to write anyway`);
  }
  warnings.push(warning);
  io.stderr(`${paint(io, colours.yellow, 'warning:')} ${warning}\n`);
  return undefined;
}

/**
 * A system error (a folder that vanished, a full disk, a refused connection to a network mount)
 * becomes one line naming the input and what to do, instead of an "internal error".
 */
function oneLine(dir: string, error: unknown): unknown {
  if (error instanceof GossiplessError || !(error instanceof Error)) return error;
  const { code, syscall, path: where } = error as NodeJS.ErrnoException;
  if (code === undefined || !/^E[A-Z]+$/.test(code)) return error;
  return new GossiplessError(
    'INVALID_INPUT',
    `migrate ${dir} stopped: ${syscall ?? 'access'} ${where ?? dir} failed (${code}); ` +
      'check that it exists, is readable and the disk or mount is reachable, then run again (nothing was written)',
  );
}

// picocolors detects colour support from the real process; the IO decides here (NO_COLOR, TTY, tests).
const colours = pc.createColors(true);

function paint(io: CliIo, colour: (text: string) => string, text: string): string {
  return io.color ? colour(text) : text;
}

function colourDiff(io: CliIo, diff: string): string {
  if (!io.color) return diff;
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('==='))
        return colours.bold(line);
      if (line.startsWith('@@')) return colours.cyan(line);
      if (line.startsWith('+')) return colours.green(line);
      if (line.startsWith('-')) return colours.red(line);
      return line;
    })
    .join('\n');
}

function printHuman(
  io: CliIo,
  dir: string,
  report: MigrateReport,
  write: boolean,
  nextSteps: string[],
): void {
  for (const file of report.files) {
    if (file.diff !== undefined && file.status !== 'error') io.stdout(colourDiff(io, file.diff) + '\n');
  }
  const skipped = report.files.filter((file) => file.status === 'skipped');
  if (skipped.length > 0) {
    io.stdout(`${paint(io, colours.yellow, `Skipped (${skipped.length}):`)}\n`);
    for (const file of skipped) io.stdout(`  ${file.path}  ${file.reason ?? ''}\n`);
  }
  const errors = report.files.filter((file) => file.status === 'error');
  if (errors.length > 0) {
    io.stdout(`${paint(io, colours.red, `Errors (${errors.length}):`)}\n`);
    for (const file of errors) io.stdout(`  ${file.path}  ${file.reason ?? ''}\n`);
  }
  if (report.reviews.length > 0) {
    io.stdout(`${paint(io, colours.yellow, `Left as is, needs a human (${report.reviews.length}):`)}\n`);
    for (const item of report.reviews)
      io.stdout(`  ${item.file}:${item.line}:${item.column}  ${item.reason}\n`);
  }
  const limits = report.rateLimits;
  if (limits.found > 0 || limits.added.length > 0) {
    const verb = write ? 'added to' : 'to add to';
    io.stdout(
      `Rate limits: ${limits.found} limiter${limits.found === 1 ? '' : 's'} read; ${limits.added.length} rule` +
        `${limits.added.length === 1 ? '' : 's'} ${verb} ${limits.file}` +
        (limits.alreadyPresent > 0 ? `, ${limits.alreadyPresent} already there (left as they are)` : '') +
        '\n',
    );
  }
  const { changed, unchanged, skipped: skippedCount, errors: errorCount } = report.counts;
  const tail = write
    ? changed > 0
      ? 'written.'
      : 'nothing to write.'
    : changed > 0
      ? 'dry run, nothing written: run again with --write to apply.'
      : 'nothing to change.';
  io.stdout(
    `${paint(io, colours.bold, 'migrate:')} ${changed} changed, ${unchanged} unchanged, ${skippedCount} skipped, ` +
      `${errorCount} error${errorCount === 1 ? '' : 's'} in ${dir} — ${tail}\n`,
  );
  if (nextSteps.length > 0) {
    io.stdout(`\nNext steps:\n${nextSteps.map((step, index) => `  ${index + 1}. ${step}`).join('\n')}\n`);
  }
}

function nextStepsFor(dir: string, report: MigrateReport): string[] {
  const steps = [
    ...(report.counts.changed > 0
      ? [
          'npm install @gossipless/runtime  — the rewritten imports point at it; then remove the legacy packages',
        ]
      : []),
    `gossipless lint ${dir}  — finds catch blocks that quietly turn discovery off or declare "I am the master"; those need a human`,
  ];
  if (report.counts.changed > 0 || report.rateLimits.found > 0) {
    steps.push(
      'set GOSSIPLESS_CLUSTER=<this service> where it runs (or gossipless.cluster in code)  — the shims have no default ' +
        'cluster name (swim, democracy, the rate limiter, node-discover without a key refuse to start without one): ' +
        'two services on one storage account must never become one cluster or share one rate limit',
    );
  }
  if (report.reviews.length > 0) {
    steps.push(
      `review the ${report.reviews.length} call site${report.reviews.length === 1 ? '' : 's'} listed above, left as they were`,
    );
  }
  if (report.rateLimits.found > 0) {
    const rules = path.join(dir, report.rateLimits.file);
    steps.push(
      `gossipless edge ${rules} --target <target>  — generates the edge configuration for the extracted limits ` +
        '(check each rule\'s "note" first; `gossipless edge --help` lists the targets)',
    );
  }
  return steps;
}

interface ProgressBar {
  update: (done: number, total: number) => void;
  stop: () => void;
}

/** A bar on stderr, only on a terminal and only once the tree turns out to be large. */
function progressBar(io: CliIo): ProgressBar | undefined {
  if (!io.isTTY) return undefined;
  let bar: cliProgress.SingleBar | undefined;
  return {
    update: (done, total) => {
      if (total < PROGRESS_MIN_FILES) return;
      if (bar === undefined) {
        // cli-progress writes escape sequences to a stream; this one forwards them to the IO.
        const stream = { write: (text: string) => (io.stderr(text), true), isTTY: true, columns: 80 };
        bar = new cliProgress.SingleBar(
          {
            stream: stream as unknown as NodeJS.WritableStream,
            format: 'migrate [{bar}] {value}/{total} files',
            clearOnComplete: true,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      }
      bar.update(done);
    },
    stop: () => bar?.stop(),
  };
}
