#!/usr/bin/env node
import { runCli } from './program.js';
import { processIo } from './io.js';

// `gossipless … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => controller.abort(new Error(`received ${signal}`)));
}
process.exitCode = await runCli(process.argv.slice(2), processIo(controller.signal));
