/**
 * The checker of the randomized fault run: a pure function from the nodes' recorded histories to
 * the properties the lease, the singleton claims and the bus promise. Jepsen-style: the run only
 * records; all judgement happens here, afterwards, and every property is unit-tested with a
 * crafted history that violates it (test/bench/nemesis-checker.test.ts).
 */

/** One history line as a node appends it (see bench/support/nemesis-node.ts). */
export interface HistoryRecord {
  node: string;
  /** node id + pid: one process lifetime. */
  incarnation: string;
  type: string;
  /** The process's monotonic clock (comparable only within one incarnation). */
  mono: number;
  /** The machine's real wall clock, shared by all processes of the run. */
  wall: number;
  epoch?: number;
  stepDownAt?: number;
  tick?: number;
  id?: string;
  from?: string;
  seq?: number;
  reason?: string;
  /** Of `delivered`: the time in the row key of the copy delivered (for reading a failed run). */
  keyTime?: number;
}

/**
 * Parses one node's history file (JSON lines). A kill -9 can cut a line short; the next
 * incarnation then appends its first record to that unfinished line. The cut record did not
 * complete and is skipped, but the record glued after it is kept: losing it (say a `delivered` or
 * an `elected`) would make the checker judge a history that did not happen.
 */
export function parseHistory(text: string): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as HistoryRecord);
    } catch {
      const glued = line.lastIndexOf('{"node":');
      if (glued <= 0) continue;
      try {
        records.push(JSON.parse(line.slice(glued)) as HistoryRecord);
      } catch {
        // Cut short itself: nothing complete on this line.
      }
    }
  }
  return records;
}

/** Settings the checker needs to judge delivery. */
export interface CheckerOptions {
  /**
   * A consumer that restarts re-reads from its stored position minus the look-back, so messages
   * published up to this long before its previous incarnation ended may be delivered again
   * (docs/bus.md: cursor written every 5 s, look-back 10 s by default: ~15 s). Inside one
   * incarnation the bus deduplicates: no repeats.
   */
  redeliveryWindowMs: number;
  /** A publish acknowledged later than this before a consumer's end is not required of it (still in flight). */
  drainMs: number;
}

/** One property violation, in words. */
export interface Violation {
  property:
    | 'one-leader-per-epoch'
    | 'epochs-increase'
    | 'tick-once'
    | 'job-within-deadline'
    | 'publish-delivered'
    | 'duplicate-outside-window'
    /** The run recorded no term or no acknowledged publish: it proved nothing. */
    | 'nothing-checked';
  detail: string;
}

/** What was checked and what was wrong. */
export interface CheckResult {
  terms: number;
  ticks: number;
  commits: number;
  messages: number;
  deliveries: number;
  consumers: number;
  violations: Violation[];
}

/** Checks every property over the merged histories of all nodes. */
export function checkHistory(records: readonly HistoryRecord[], options: CheckerOptions): CheckResult {
  const violations: Violation[] = [];
  const byWall = [...records].sort((a, b) => a.wall - b.wall);

  // 1. No two nodes (or two lifetimes of one node) lead under the same epoch.
  const elected = byWall.filter((r) => r.type === 'elected' && typeof r.epoch === 'number');
  const leadersOf = new Map<number, HistoryRecord[]>();
  for (const e of elected) leadersOf.set(e.epoch!, [...(leadersOf.get(e.epoch!) ?? []), e]);
  for (const [epoch, leaders] of leadersOf) {
    if (leaders.length > 1) {
      violations.push({
        property: 'one-leader-per-epoch',
        detail: `epoch ${epoch} was led by ${leaders.map((l) => l.incarnation).join(' and ')}`,
      });
    }
  }

  // 2. Epochs strictly increase from term to term (in the shared wall order of elections).
  for (let i = 1; i < elected.length; i++) {
    const previous = elected[i - 1]!;
    const next = elected[i]!;
    if (next.epoch! <= previous.epoch!) {
      violations.push({
        property: 'epochs-increase',
        detail: `term ${next.epoch} (${next.incarnation}) began after term ${previous.epoch} (${previous.incarnation})`,
      });
    }
  }

  // 3. No tick runs twice, across all nodes and terms.
  const ticks = new Map<number, HistoryRecord>();
  for (const r of byWall) {
    if (r.type !== 'job-start' || typeof r.tick !== 'number') continue;
    const first = ticks.get(r.tick);
    if (first) {
      violations.push({
        property: 'tick-once',
        detail: `tick ${r.tick} ran on ${first.incarnation} (epoch ${first.epoch}) and on ${r.incarnation} (epoch ${r.epoch})`,
      });
    } else ticks.set(r.tick, r);
  }

  // 4. No job commits past its node's step-down deadline (the latest deadline that node recorded
  //    for the term before the commit, on its own monotonic clock), nor after a later term began
  //    anywhere (shared wall clock).
  const commits = byWall.filter((r) => r.type === 'job-commit');
  const deadlinesOf = new Map<string, HistoryRecord[]>();
  for (const r of records) {
    if ((r.type !== 'elected' && r.type !== 'renewed') || typeof r.stepDownAt !== 'number') continue;
    const key = `${r.incarnation}|${r.epoch}`;
    deadlinesOf.set(key, [...(deadlinesOf.get(key) ?? []), r]);
  }
  for (const c of commits) {
    let deadline = -Infinity;
    for (const d of deadlinesOf.get(`${c.incarnation}|${c.epoch}`) ?? []) {
      if (d.mono <= c.mono) deadline = Math.max(deadline, d.stepDownAt!);
    }
    if (!(c.mono < deadline)) {
      violations.push({
        property: 'job-within-deadline',
        detail: `${c.incarnation} committed tick ${c.tick} of epoch ${c.epoch} at ${c.mono.toFixed(0)} ms, deadline ${Number.isFinite(deadline) ? deadline.toFixed(0) : 'none recorded'}`,
      });
    }
    const later = elected.find(
      (e) => e.epoch! > c.epoch! && e.incarnation !== c.incarnation && e.wall < c.wall,
    );
    if (later) {
      violations.push({
        property: 'job-within-deadline',
        detail: `${c.incarnation} committed tick ${c.tick} of epoch ${c.epoch} after ${later.incarnation} was elected for epoch ${later.epoch}`,
      });
    }
  }

  // 5 and 6. Every acknowledged publish reaches every durable consumer that lived through it;
  //    duplicates only across a restart and within the redelivery window.
  const published = byWall.filter((r) => r.type === 'published' && typeof r.id === 'string');
  const consumers = new Map<string, { first: number; last: number; incarnations: Map<string, number> }>();
  for (const r of byWall) {
    const c = consumers.get(r.node) ?? {
      first: r.wall,
      last: r.wall,
      incarnations: new Map<string, number>(),
    };
    if (r.type === 'ready' && !c.incarnations.has(r.incarnation)) c.incarnations.set(r.incarnation, r.wall);
    c.first = Math.min(c.first, r.type === 'ready' ? r.wall : c.first);
    c.last = Math.max(c.last, r.wall);
    consumers.set(r.node, c);
  }
  const deliveries = byWall.filter((r) => r.type === 'delivered' && typeof r.id === 'string');
  const lastWall = new Map<string, number>();
  for (const r of byWall) lastWall.set(r.incarnation, r.wall);
  for (const [node, consumer] of consumers) {
    const mine = deliveries.filter((d) => d.node === node);
    const seen = new Map<string, HistoryRecord>();
    for (const d of mine) {
      const first = seen.get(d.id!);
      if (!first) {
        seen.set(d.id!, d);
        continue;
      }
      // A restarted consumer re-reads from its stored position minus the look-back: messages
      // published shortly before the earlier incarnation ended, not before the restart.
      const endedAt = lastWall.get(first.incarnation) ?? first.wall;
      const publish = published.find((p) => p.id === d.id);
      const publishedAt = publish?.wall ?? first.wall;
      const allowed =
        first.incarnation !== d.incarnation && publishedAt >= endedAt - options.redeliveryWindowMs;
      if (!allowed) {
        violations.push({
          property: 'duplicate-outside-window',
          detail: `${node} got ${d.id} twice (${first.incarnation}, then ${d.incarnation})`,
        });
      }
    }
    // A durable consumer's life begins at its first delivery: only its first poll fixes (and
    // stores) its read position; before that, a new consumer starts at "now" (docs/bus.md).
    const firstRead = mine[0]?.wall ?? Infinity;
    for (const p of published) {
      if (p.wall < firstRead || p.wall > consumer.last - options.drainMs) continue;
      if (!seen.has(p.id!)) {
        violations.push({
          property: 'publish-delivered',
          detail: `${node} never got ${p.id} (seq ${p.seq} from ${p.node}, acknowledged at ${new Date(p.wall).toISOString()})`,
        });
      }
    }
  }

  if (elected.length === 0 || published.length === 0) {
    violations.push({
      property: 'nothing-checked',
      detail: `${elected.length} terms and ${published.length} acknowledged publishes recorded`,
    });
  }

  return {
    terms: elected.length,
    ticks: ticks.size,
    commits: commits.length,
    messages: published.length,
    deliveries: deliveries.length,
    consumers: consumers.size,
    violations,
  };
}
