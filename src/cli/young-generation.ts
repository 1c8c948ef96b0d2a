/**
 * The V8 heap setting the `gossipless` bin chooses for its own process (never the library's
 * `migrate()`, which runs in its caller's process). Imports only `node:v8`, so the bin can apply it
 * before it loads anything else.
 *
 * @packageDocumentation
 */
import v8 from 'node:v8';

/** Flags a user may pass (`node --max-semi-space-size=…`, NODE_OPTIONS) that size the young generation. */
const USER_YOUNG_GENERATION_FLAG =
  /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;

/**
 * Commands whose process is a batch over a tree of files, where most objects die young no matter
 * how large the young generation is: a TypeScript AST per file, diffs, strings.
 */
const BATCH_COMMANDS: ReadonlySet<string> = new Set(['migrate']);

/**
 * Keeps V8's young generation at the size it starts with (1 MiB semi-spaces on 64-bit) for the
 * rest of the process, when `argv` names a batch command. V8 grows it up to 2 × 16 MiB as a run
 * allocates: about 30 MiB of the process' peak that `gossipless migrate` does not need to be as
 * fast (docs/migrate.md, "Memory").
 *
 * How: V8 reads `--max-semi-space-size` only when the heap is created, so setting it from
 * JavaScript does nothing; `--semi-space-growth-factor` is read each time the young generation
 * grows, and a factor of 1 means it never does. A young generation that has already grown is not
 * shrunk, which is why the bin calls this before it loads anything else. A user's own young
 * generation flags (command line or NODE_OPTIONS) win: then this does nothing.
 *
 * @param argv - the CLI's arguments, without node and the script
 * @param execArgv - Node's own flags of this process
 * @param nodeOptions - the NODE_OPTIONS environment variable
 * @returns whether the setting was applied
 */
export function keepYoungGenerationSmall(
  argv: readonly string[],
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): boolean {
  const command = argv[0];
  if (command === undefined || !BATCH_COMMANDS.has(command)) return false;
  if ([...execArgv, nodeOptions ?? ''].some((flag) => USER_YOUNG_GENERATION_FLAG.test(flag))) return false;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}
