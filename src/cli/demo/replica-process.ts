import { spawn, type ChildProcess } from 'node:child_process';

/** A line a replica printed: JSON events on stdout, `[level] text` logs on stderr. */
export interface ReplicaEvent {
  /** Wall time the harness saw the line (one clock for every replica on this machine). */
  t: number;
  replica: string;
  event: string;
  tick?: number;
}

/** Options of {@link ReplicaProcess}. */
export interface ReplicaProcessOptions {
  replica: string;
  /** The command and its arguments (e.g. `ip netns exec <ns> node main.js`). */
  command: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  onEvent: (event: ReplicaEvent) => void;
}

/** One replica of the example service, with its output turned into events. */
export class ReplicaProcess {
  readonly replica: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;

  constructor(options: ReplicaProcessOptions) {
    this.replica = options.replica;
    const [command, ...args] = options.command;
    this.child = spawn(command!, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    const lines = (
      stream: NodeJS.ReadableStream | null,
      parse: (line: string) => ReplicaEvent | undefined,
    ): void => {
      let buffer = '';
      stream?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const event = parse(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
          if (event) options.onEvent(event);
        }
      });
    };
    lines(this.child.stdout, (line) => {
      try {
        const parsed = JSON.parse(line) as { event?: unknown; tick?: unknown };
        if (typeof parsed.event !== 'string') return undefined;
        return {
          t: Date.now(),
          replica: this.replica,
          event: parsed.event,
          ...(typeof parsed.tick === 'number' ? { tick: parsed.tick } : {}),
        };
      } catch {
        return undefined;
      }
    });
    // The example logs promotion and demotion at info level on stderr.
    lines(this.child.stderr, (line) => {
      if (line.includes('promoted to master'))
        return { t: Date.now(), replica: this.replica, event: 'promoted' };
      if (line.includes('demoted')) return { t: Date.now(), replica: this.replica, event: 'demoted' };
      return undefined;
    });
  }

  /** Sends a signal; resolves when the process has exited (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
