import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { waitForEvent as waitForNodeEvent, type NodeEvent } from '../helpers/node-process.js';

/** A history line: what a node printed or a marker the harness wrote. */
export type HistoryEvent = NodeEvent;

/** The node runner every fault scenario starts, once per node. */
export const NODE_RUNNER = fileURLToPath(new URL('./node-runner.ts', import.meta.url));

/** Polls the history until `predicate` finds an event; on time-out the error shows the history. */
export function waitForEvent(
  history: HistoryEvent[],
  predicate: (e: HistoryEvent) => boolean,
  timeoutMs: number,
  what: string,
): Promise<HistoryEvent> {
  return waitForNodeEvent(history, predicate, timeoutMs, what, (h) => `; history:\n${formatHistory(h)}`);
}

export function formatHistory(history: HistoryEvent[]): string {
  const t0 = history[0]?.t ?? 0;
  return history
    .filter((e) => e.type !== 'job-end')
    .map(
      (e) =>
        `${String(e.t - t0).padStart(6)} ${e.node} ${e.type}${e.epoch !== undefined ? ` epoch=${e.epoch}` : ''}${e.tick !== undefined ? ` tick=${e.tick}` : ''}${e.reason ? ` ${e.reason}` : ''}${e.type === 'error' ? ` ${String(e.source)} ${String(e.code)} ${String(e.message ?? '').slice(0, 120)}` : ''}`,
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
