#!/usr/bin/env node
import { runCli } from './program.js';
import { processIo } from './io.js';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => controller.abort(new Error(`received ${signal}`)));
}
process.exitCode = await runCli(process.argv.slice(2), processIo(controller.signal));
