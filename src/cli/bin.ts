#!/usr/bin/env node
import module from 'node:module';
import { applyBatchV8Flags } from './batch-v8-flags.js';

// Before anything else is loaded: V8's young generation only grows (loading the CLI and the
// TypeScript compiler is enough to grow it), and TurboFan compiles hot code from the start.
applyBatchV8Flags(process.argv.slice(2));

// Node ≥ 22.1 keeps V8's compiled code of the modules a run loads in its on-disk compile cache
// (os.tmpdir(); NODE_DISABLE_COMPILE_CACHE=1 turns it off), so later runs skip compiling them:
// TypeScript's 9 MB compiler above all, about a quarter of `gossipless lint` on a small service.
// Node 20 has no such API; there this does nothing.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// Loaded after the two settings above, so that they apply to the CLI's own modules too.
const { runCli } = await import('./program.js');
const { processIo } = await import('./io.js');

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
