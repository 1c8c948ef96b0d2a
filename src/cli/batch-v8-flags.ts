/**
 * The V8 flags the `gossipless` bin sets for its own process when the command is a batch over a
 * tree of files (never the library's `migrate()`, which runs in its caller's process). Imports only
 * `node:v8`, so the bin can apply them before it loads anything else.
 *
 * @packageDocumentation
 */
import v8 from 'node:v8';

/** One flag, and the flags of a user's own that make the bin leave that setting alone. */
interface BatchFlag {
  readonly flag: string;
  readonly userFlag: RegExp;
}

/**
 * What `gossipless migrate` sets, each measured on bench:migrate's 4,000-file tree (docs/migrate.md,
 * "Latest run (2026-12-03)"): together its peak RSS goes from 1.36× to about 1.0× the pre-checked
 * jscodeshift's, and its files/s stay above it.
 *
 * - `--semi-space-growth-factor=1`: V8's young generation keeps the size it starts with (2 × 1 MiB
 *   on 64-bit) instead of growing to 2 × 16 MiB (−25 to −30 MiB). `--max-semi-space-size` would
 *   say the same, but V8 reads it only when the heap is created: set from JavaScript it does
 *   nothing. The growth factor is read each time the young generation would grow.
 * - `--no-opt`: no TurboFan. Its compile jobs run on V8's worker threads, whose malloc arenas keep
 *   the memory after a job (−12 to −20 MiB). A run is one pass over files that each parse once,
 *   where little code gets hot enough to pay for TurboFan: a cold run over 4,000 files takes as
 *   long, one over 16,000 files 10–18 % longer.
 */
const BATCH_FLAGS: readonly BatchFlag[] = [
  {
    flag: '--semi-space-growth-factor=1',
    userFlag: /^--(?:max|min)[-_]semi[-_]space[-_]size|^--semi[-_]space[-_]growth[-_]factor/,
  },
  { flag: '--no-opt', userFlag: /^--(?:no-?)?(?:opt|turbofan)(?:=|$)|^--max[-_]opt|^--jitless/ },
];

/** Commands whose process is one batch over a tree of files. */
const BATCH_COMMANDS: ReadonlySet<string> = new Set(['migrate']);

/**
 * Sets the {@link BATCH_FLAGS} when `argv` names a batch command, each unless the user passed a
 * flag about the same thing (on Node's command line or in NODE_OPTIONS): theirs wins. Call it first:
 * a young generation that has grown is not shrunk, and what TurboFan compiled stays compiled.
 *
 * @param argv - the CLI's arguments, without node and the script
 * @param execArgv - Node's own flags of this process
 * @param nodeOptions - the NODE_OPTIONS environment variable
 * @returns the flags it set, in order
 */
export function applyBatchV8Flags(
  argv: readonly string[],
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): string[] {
  const command = argv[0];
  if (command === undefined || !BATCH_COMMANDS.has(command)) return [];
  const userFlags = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((flag) => flag !== '');
  const applied: string[] = [];
  for (const { flag, userFlag } of BATCH_FLAGS) {
    if (userFlags.some((own) => userFlag.test(own))) continue;
    v8.setFlagsFromString(flag);
    applied.push(flag);
  }
  return applied;
}
