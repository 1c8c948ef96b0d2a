import type { CliIo } from './io.js';

/** What every command's declaration gets from the program: where to write, and how to report its exit code. */
export interface CommandContext {
  readonly io: CliIo;
  /** The command's exit code; `runCli` turns it (and every error) into the process's, in one place. */
  setExitCode(code: number): void;
}
