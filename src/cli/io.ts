/**
 * Where a command writes and what it knows of its terminal. Commands never touch `process`
 * directly, so tests run them in-process and read what they printed.
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is a terminal: progress bars and in-place refreshes only then. */
  readonly isTTY: boolean;
  /** Colours are off when NO_COLOR is set or the output is not a terminal. */
  readonly color: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM when run from the real binary. */
  readonly signal: AbortSignal;
}

/** Exit codes, as ESLint and knip use them. */
export const ExitCode = {
  /** Clean. */
  Ok: 0,
  /** Findings, or the story did not hold. */
  Findings: 1,
  /** Usage or internal error. */
  Error: 2,
} as const;

/** The IO of the real process. */
export function processIo(signal: AbortSignal): CliIo {
  const isTTY = Boolean(process.stderr.isTTY);
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    isTTY,
    color: isTTY && !process.env.NO_COLOR,
    env: process.env,
    cwd: process.cwd(),
    signal,
  };
}

/** An IO that records output, for tests and embedding. */
export function memoryIo(overrides: Partial<Omit<CliIo, 'stdout' | 'stderr'>> = {}): CliIo & {
  readonly out: string;
  readonly err: string;
} {
  let out = '';
  let err = '';
  return {
    stdout: (text) => void (out += text),
    stderr: (text) => void (err += text),
    isTTY: false,
    color: false,
    env: {},
    cwd: process.cwd(),
    signal: new AbortController().signal,
    ...overrides,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}
