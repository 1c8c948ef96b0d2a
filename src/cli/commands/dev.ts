import { Command } from '@commander-js/extra-typings';
import { GossiplessError } from '@gossipless/runtime/errors';
import type { CommandContext } from '../command-context.js';
import { parsePort } from '../parse-options.js';
import { ExitCode, type CliIo } from '../io.js';

/** `gossipless dev`: its options and help; the work is in {@link run}. */
export function devCommand(context: CommandContext) {
  return new Command('dev')
    .description(
      'start an in-memory Azurite (blob + table) on free loopback ports and print the connection string;\n' +
        'runs until interrupted (Ctrl-C)',
    )
    .option('--blob-port <port>', 'blob port (default: a free one)', parsePort)
    .option('--table-port <port>', 'table port (default: a free one)', parsePort)
    .option('--json', 'print one JSON document with the endpoints and connection string')
    .action(async (options) => context.setExitCode(await run(options, context.io)));
}

/** Options of `gossipless dev`. */
export interface DevCommandOptions {
  blobPort?: number;
  tablePort?: number;
  json?: boolean;
}

/** Starts Azurite, prints how to reach it, and keeps it up until the signal aborts. */
export async function run(options: DevCommandOptions, io: CliIo): Promise<number> {
  const { startAzurite } = await import('../../dev/index.js');
  const azurite = await startAzurite({ blobPort: options.blobPort, tablePort: options.tablePort });
  try {
    if (options.json) {
      io.stdout(
        JSON.stringify({
          connectionString: azurite.connectionString,
          blobEndpoint: azurite.blobEndpoint,
          tableEndpoint: azurite.tableEndpoint,
          pid: azurite.pid,
        }) + '\n',
      );
    } else {
      io.stdout(
        `Azurite is running in memory (blob ${azurite.blobEndpoint}, table ${azurite.tableEndpoint}).\n` +
          `Its account key is Azurite's public development key, so printing it is safe:\n\n` +
          `export AZURE_STORAGE_CONNECTION_STRING='${azurite.connectionString}'\n\n` +
          `Press Ctrl-C to stop; all data is lost when it stops.\n`,
      );
    }
    const interrupted = new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    // Azurite can die after start-up (a port taken between our check and its bind, an OOM kill):
    // say so instead of leaving a process that waits on nothing (it exited 13, silently: issue #17).
    const crashed = azurite.exited.then(({ code, signal, output }) => {
      if (io.signal.aborted) return;
      throw new GossiplessError(
        'AZURITE_FAILED',
        `Azurite stopped unexpectedly (${signal ?? `exit code ${String(code)}`})${output ? `: ${output.split('\n').at(-1)}` : ''}`,
      );
    });
    await Promise.race([interrupted, crashed]);
    return ExitCode.Ok;
  } finally {
    await azurite.stop();
  }
}
