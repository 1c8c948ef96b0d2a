import { Command, CommanderError } from '@commander-js/extra-typings';
import { GossiplessError, redactUnknown } from '@gossipless/runtime/errors';
import { TOOLKIT_VERSION as VERSION } from '../toolkit/version.js';
import type { CommandContext } from './command-context.js';
import { demoCommand } from './commands/demo.js';
import { devCommand } from './commands/dev.js';
import { edgeCommand } from './commands/edge.js';
import { lintCommand } from './commands/lint.js';
import { migrateCommand } from './commands/migrate.js';
import { statusCommand } from './commands/status.js';
import { ExitCode, type CliIo } from './io.js';

/**
 * Every command, in the order `--help` lists them. Each file holds its declaration and its run; the
 * declarations import nothing heavy, and each run loads its own dependencies, so `gossipless lint`
 * does not load the Azure SDK and `--help` loads neither.
 */
const COMMANDS = [devCommand, demoCommand, statusCommand, edgeCommand, migrateCommand, lintCommand];

/** Builds the CLI: the program and its commands (`commands/<name>.ts`, one file each). */
export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('gossipless')
    .description(
      'Move a clustered Node.js service off gossip/multicast discovery: blob-lease leadership,\n' +
        'an Azure Table as membership list and bus, global rate limits at the edge.',
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)');

  const context: CommandContext = { io, setExitCode };
  for (const declare of COMMANDS) {
    // addCommand does not pass the program's settings on as .command() does: exitOverride and the
    // output go to every command, so errors reach runCli and tests read what was printed.
    program.addCommand(declare(context).copyInheritedSettings(program));
  }
  return program;
}

/**
 * Runs the CLI with `argv` (without node and script). Every error becomes an exit code here, and
 * only here: usage errors and internal errors are 2, with a redacted message on stderr.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Error;
    }
    if (error instanceof GossiplessError) {
      io.stderr(`gossipless: ${error.message}\n`);
      return ExitCode.Error;
    }
    io.stderr(`gossipless: internal error: ${redactUnknown(error)}\n`);
    return ExitCode.Error;
  }
}
