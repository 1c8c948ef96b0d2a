import { Command, CommanderError, Option } from 'commander';
import { GossiplessError } from '../errors/index.js';
import { redactUnknown } from '../redact/index.js';
import { ExitCode, type CliIo } from './io.js';

const VERSION = '0.1.0';

/**
 * Builds the CLI. Each command's code lives in `commands/<name>.ts` and is imported only when that
 * command runs, so `gossipless lint` does not load the Azure SDK.
 */
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

  program
    .command('dev')
    .description(
      'start an in-memory Azurite (blob + table) on free loopback ports and print the connection string;\n' +
        'runs until interrupted (Ctrl-C)',
    )
    .option('--blob-port <port>', 'blob port (default: a free one)', parsePort)
    .option('--table-port <port>', 'table port (default: a free one)', parsePort)
    .option('--json', 'print one JSON document with the endpoints and connection string')
    .action(async (options) => {
      const { run } = await import('./commands/dev.js');
      setExitCode(await run(options, io));
    });

  program
    .command('lint')
    .description(
      'find catch blocks, promise .catch() and error handlers around peer discovery that swallow the failure\n' +
        'or switch discovery off (rule no-self-disabling-discovery); exit 1 when a finding is at error level',
    )
    .argument('[paths...]', 'files or directories to lint (default: the current directory)')
    .addOption(
      new Option('--format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'),
    )
    .option('--output <file>', 'write the report to this file instead of stdout')
    .action(async (paths: string[], options) => {
      const { run } = await import('./commands/lint.js');
      setExitCode(await run({ ...options, paths }, io));
    });

  return program;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new GossiplessError('INVALID_OPTIONS', `port "${value}" is not a port number (0–65535)`);
  }
  return port;
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
