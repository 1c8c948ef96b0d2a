import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleNodeScript } from '../support/node-bundle.js';

/** One line a node process printed, or a marker the harness wrote (killed, paused, resumed). */
export interface NodeEvent {
  t: number;
  node: string;
  type: string;
  epoch?: number;
  tick?: number;
  reason?: string;
  aborted?: boolean;
  /** Of `error` events: which part failed and the error code. */
  source?: string;
  code?: string;
  /** Of `error` events recorded by the fault tests' runner: the message (redacted by the core). */
  message?: string;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A node in its own process (`node <script bundled by esbuild>`: bundled, it starts in well under a
 * second on a loaded machine, where tsx took 15–60 s), for the fault tests and the benches: its
 * JSON lines are appended to a shared history, stamped with the wall clock every process shares.
 */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;

  constructor(
    readonly nodeId: string,
    script: string,
    private readonly history: NodeEvent[],
    env: Record<string, string>,
    options: { /** Opens an IPC channel (`child.send`, `process.send` in the node). */ ipc?: boolean } = {},
  ) {
    this.child = spawn(process.execPath, [bundleNodeScript(script)], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, NODE_ID: nodeId },
      stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    let buffer = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          history.push(JSON.parse(line) as NodeEvent);
        } catch {
          // A line that is not the runner's JSON (a Node warning): not part of the history.
        }
      }
    });
    let stderr = '';
    this.child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    this.child.once('exit', (code, signal) => {
      if (code !== 0 && signal === null) process.stderr.write(`${nodeId} exited with ${code}: ${stderr}\n`);
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal and records it in the history as `marker`; returns the wall time it was sent. */
  signal(signal: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT', marker: string): number {
    const t = Date.now();
    this.history.push({ t, node: this.nodeId, type: marker });
    this.child.kill(signal);
    return t;
  }

  /** Kills the process if it still runs and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Polls the history until `predicate` matches an event, or rejects after `timeoutMs`. */
export async function waitForEvent(
  history: NodeEvent[],
  predicate: (e: NodeEvent) => boolean,
  timeoutMs: number,
  what: string,
  describe: (history: NodeEvent[]) => string = () => '',
): Promise<NodeEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = history.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe(history)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
