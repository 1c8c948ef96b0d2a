// One scenario, run on the real democracy (UDP on loopback, in a child process: it never closes its
// socket) and on the shim (Azurite): what a user of the API observes, with ids mapped to names.

/** What the scenario needs of a democracy instance (the real one or the shim). */
export interface DemocracyLike {
  // Listeners get whatever the library emits: the scenario reads their fields itself.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  subscribe(channel: string): unknown;
  publish(channel: string, msg: unknown): unknown;
  send(event: string, extra?: unknown): unknown;
  nodes(): Record<string, object>;
  leader(): { id: string } | null;
  isLeader(): boolean;
}

/** What the user saw. */
export interface DemocracyObservation {
  leaderSeenByA: string | null;
  leaderSeenByB: string | null;
  isLeader: { a: boolean; b: boolean };
  events: { a: string[]; b: string[] };
  received: unknown[];
  custom: unknown[];
  /** Keys of the `added` payload and of nodes() entries (peer and self), as democracy shapes them. */
  shapes: { added: string[]; peer: string[]; self: string[]; elected: string[] };
}

export const IDS = { a: 'node-a', b: 'node-b' } as const;
const NAMES: Record<string, string> = { [IDS.a]: 'a', [IDS.b]: 'b' };

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * a (heavier) and b start together; b subscribes to `news`. Once a leads, a publishes on `news`
 * and sends a custom event; the observation records who leads, the events each saw and what b got.
 */
export async function runDemocracyScenario(
  make: (name: 'a' | 'b', weight: number) => DemocracyLike,
  intervalMs: number,
  timeoutMs = 20_000,
): Promise<DemocracyObservation> {
  const events = { a: [] as string[], b: [] as string[] };
  const shapes = {
    added: [] as string[],
    peer: [] as string[],
    self: [] as string[],
    elected: [] as string[],
  };
  const received: unknown[] = [];
  const custom: unknown[] = [];
  const a = make('a', 200);
  const b = make('b', 100);
  for (const [name, node] of [
    ['a', a],
    ['b', b],
  ] as const) {
    for (const event of ['added', 'removed', 'elected', 'leader', 'resigned']) {
      node.on(event, (payload: { id: string }) => {
        events[name].push(`${event}:${NAMES[payload.id] ?? payload.id}`);
        if (event === 'added') shapes.added = Object.keys(payload).sort();
        if (event === 'elected') shapes.elected = Object.keys(payload).sort();
      });
    }
  }
  b.subscribe('news');
  b.on('news', (msg: unknown) => received.push(msg));
  b.on('custom', (msg: unknown) => custom.push(msg));
  await until(() => a.isLeader() && b.leader()?.id === IDS.a, timeoutMs, 'a to lead, seen by both');
  await until(
    () => ((a.nodes()[IDS.b] as { channels?: string[] } | undefined)?.channels ?? []).includes('news'),
    timeoutMs,
    'a to know b subscribed',
  );
  a.publish('news', { n: 1 });
  a.send('custom', { x: 1 });
  await until(() => received.length >= 1 && custom.length >= 1, timeoutMs, 'b to receive');
  // Room for stray or repeated events.
  await new Promise((r) => setTimeout(r, intervalMs * 3));
  shapes.peer = Object.keys(a.nodes()[IDS.b] ?? {}).sort();
  shapes.self = Object.keys(a.nodes()[IDS.a] ?? {}).sort();
  return {
    leaderSeenByA: NAMES[a.leader()?.id ?? ''] ?? null,
    leaderSeenByB: NAMES[b.leader()?.id ?? ''] ?? null,
    isLeader: { a: a.isLeader(), b: b.isLeader() },
    events,
    received,
    custom,
    shapes,
  };
}
