import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** One line a node printed, or a marker the harness wrote (killed, paused, resumed). */
export interface HistoryEvent {
  t: number;
  node: string;
  type: string;
  epoch?: number;
  tick?: number;
  reason?: string;
  aborted?: boolean;
}

const RUNNER = fileURLToPath(new URL('./node-runner.ts', import.meta.url));

/** A cluster node in its own process. */
export class NodeProcess {
  readonly child: ChildProcess;
  constructor(
    readonly nodeId: string,
    private readonly history: HistoryEvent[],
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', RUNNER], {
      env: { ...process.env, ...env, NODE_ID: nodeId },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          history.push(JSON.parse(line) as HistoryEvent);
        } catch {
          // Not one of the runner's lines (a warning from Node); not part of the history.
        }
      }
    });
    this.child.stderr!.on('data', () => undefined);
  }

  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT' | 'SIGTERM', marker: string): void {
    this.history.push({ t: Date.now(), node: this.nodeId, type: marker });
    this.child.kill(signal);
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }
}

/** Polls the history until `predicate` finds an event. */
export async function waitForEvent(
  history: HistoryEvent[],
  predicate: (e: HistoryEvent) => boolean,
  timeoutMs: number,
  what: string,
): Promise<HistoryEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = history.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; history:\n${formatHistory(history)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function formatHistory(history: HistoryEvent[]): string {
  const t0 = history[0]?.t ?? 0;
  return history
    .filter((e) => e.type !== 'job-end')
    .map(
      (e) =>
        `${String(e.t - t0).padStart(6)} ${e.node} ${e.type}${e.epoch !== undefined ? ` epoch=${e.epoch}` : ''}${e.tick !== undefined ? ` tick=${e.tick}` : ''}${e.reason ? ` ${e.reason}` : ''}`,
    )
    .join('\n');
}

/** A leader term as the history shows it. */
export interface Term {
  node: string;
  epoch: number;
  start: number;
  end: number;
}

/**
 * Leader terms: from `elected` to `demoted`, or to the moment the process was killed or paused
 * (a paused process does nothing; what it does after resuming is checked separately).
 */
export function leaderTerms(history: HistoryEvent[], endOfTest: number): Term[] {
  const terms: Term[] = [];
  for (const e of history) {
    if (e.type !== 'elected') continue;
    const end = history.find(
      (x) =>
        x.node === e.node &&
        x.t >= e.t &&
        ((x.type === 'demoted' && x.epoch === e.epoch) || x.type === 'killed' || x.type === 'paused'),
    );
    terms.push({ node: e.node, epoch: e.epoch!, start: e.t, end: end?.t ?? endOfTest });
  }
  return terms.sort((a, b) => a.start - b.start);
}

/** The invariant: leader intervals never overlap, epochs strictly increase, no tick runs twice. */
export function assertSafetyInvariant(history: HistoryEvent[]): Term[] {
  const terms = leaderTerms(history, Date.now());
  const context = `\n${formatHistory(history)}`;
  for (let i = 1; i < terms.length; i++) {
    const previous = terms[i - 1]!;
    const next = terms[i]!;
    expect(
      next.start,
      `term ${next.epoch} (${next.node}) began before term ${previous.epoch} (${previous.node}) ended${context}`,
    ).toBeGreaterThanOrEqual(previous.end);
    expect(next.epoch, `epochs must strictly increase${context}`).toBeGreaterThan(previous.epoch);
  }
  const ticks = history.filter((e) => e.type === 'job-start').map((e) => e.tick);
  expect(new Set(ticks).size, `a tick ran twice${context}`).toBe(ticks.length);
  return terms;
}
