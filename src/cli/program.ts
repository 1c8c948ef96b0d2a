import { Command, CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { GossiplessError, redactUnknown } from '@gossipless/runtime/errors';
import { TOOLKIT_VERSION as VERSION } from '../toolkit/version.js';
import type { CommandContext } from './command-context.js';
import { ExitCode, type CliIo } from './io.js';

/** A command's declaration: its options, help and action (`commands/<name>.ts`). */
type DeclareCommand = (context: CommandContext) => CommandUnknownOpts;

/**
 * Every command by name, in the order `--help` lists them. Each file holds its declaration and its
 * run; the declarations import nothing heavy, and each run loads its own dependencies, so
 * `gossipless lint` does not load the Azure SDK and `--help` loads neither. The files themselves are
 * loaded on demand: `gossipless lint` in CI loads only the lint command's file (start-up is most of
 * a lint run on a small service).
 */
const COMMANDS: Readonly<Record<string, () => Promise<DeclareCommand>>> = {
  dev: async () => (await import('./commands/dev.js')).devCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  edge: async () => (await import('./commands/edge.js')).edgeCommand,
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand,
  lint: async () => (await import('./commands/lint.js')).lintCommand,
};

/**
 * The commands `argv` needs declared: the named command alone when the first word names one (its
 * help, options and errors are its own), every command otherwise (`--help`, `--version`, `help
 * lint`, a mistyped name that commander answers with "did you mean").
 */
async function declarationsFor(argv: readonly string[]): Promise<DeclareCommand[]> {
  const first = argv[0];
  const names = first !== undefined && Object.hasOwn(COMMANDS, first) ? [first] : Object.keys(COMMANDS);
  return Promise.all(names.map((name) => COMMANDS[name]!()));
}

/**
 * Builds the CLI: the program and the commands `argv` needs (`commands/<name>.ts`, one file each);
 * every command when `argv` is left out.
 */
export async function buildProgram(
  io: CliIo,
  setExitCode: (code: number) => void,
  argv: readonly string[] = [],
): Promise<Command> {
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
  for (const declare of await declarationsFor(argv)) {
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
  try {
    const program = await buildProgram(io, (code) => (exitCode = code), argv);
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
