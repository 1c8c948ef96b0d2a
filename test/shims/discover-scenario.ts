import { EventEmitter } from 'node:events';
import { waitFor } from '../helpers/wait-for.js';

/** What the scenario needs of a node-discover instance (the real one or the shim). */
export interface DiscoverLike extends EventEmitter {
  me: { isMaster: boolean; weight: number; advertisement: unknown };
  nodes: Record<string, { id: string; isMaster: boolean; advertisement: unknown }>;
  join(channel: string, fn?: (...args: unknown[]) => void): boolean;
  send(channel: string, data: unknown): boolean;
  advertise(advertisement: unknown): void;
  stop(): unknown;
}

/** A recorded event: its name and the shape (keys and types) of each argument. */
export interface Recorded {
  node: number;
  event: string;
  args: unknown[];
}

const RECORDED = [
  'started',
  'stopped',
  'added',
  'removed',
  'master',
  'promotion',
  'demotion',
  'helloReceived',
];

/** The shape of a value: types and keys, never the values (ids, times and weights differ per run). */
export function shape(value: unknown, depth = 0): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.map((v) => shape(v, depth + 1));
  if (value instanceof EventEmitter) return 'instance';
  if (typeof value === 'object' && depth < 3) {
    return Object.fromEntries(
      Object.keys(value)
        .filter((k) => !k.startsWith('_'))
        .sort()
        .map((k) => [k, shape((value as Record<string, unknown>)[k], depth + 1)]),
    );
  }
  return typeof value;
}

export interface ScenarioResult {
  events: Recorded[];
  /** Index of the node that was master before the stop, and after. */
  firstMaster: number;
  secondMaster: number;
  /** Channel deliveries: [receiver, args]. */
  messages: Array<[number, unknown[]]>;
  /** Advertisement seen by node 1 for node 0 after node 0 re-advertised. */
  readvertised: unknown;
  reservedJoin: boolean;
  reservedSend: boolean;
  joinTwice: boolean;
}

/**
 * The contract scenario, run the same way against the real node-discover and the shim:
 * three nodes with weights 3, 2, 1 find each other and elect one master; node 0 re-advertises;
 * a channel message goes from node 1 to the others; the master stops and another takes over.
 */
export async function runDiscoverScenario(
  make: (index: number, weight: number) => DiscoverLike,
  timeoutMs: number,
): Promise<ScenarioResult> {
  const events: Recorded[] = [];
  const messages: Array<[number, unknown[]]> = [];
  const nodes = [3, 2, 1].map((weight, i) => {
    const d = make(i, weight);
    for (const event of RECORDED) d.on(event, (...args: unknown[]) => events.push({ node: i, event, args }));
    d.on('error', () => undefined);
    return d;
  });
  try {
    await waitFor(
      () => nodes.every((d) => Object.keys(d.nodes).length === 2),
      timeoutMs,
      'every node to see the two others',
    );
    await waitFor(
      () =>
        nodes.filter((d) => d.me.isMaster).length === 1 &&
        nodes.every((d) => d.me.isMaster || Object.values(d.nodes).some((n) => n.isMaster)),
      timeoutMs,
      'one master known to all',
    );
    const firstMaster = nodes.findIndex((d) => d.me.isMaster);

    const reservedJoin = nodes[0]!.join('promotion');
    const reservedSend = nodes[0]!.send('hello', {});
    for (const [i, d] of nodes.entries()) d.join('work', (...args: unknown[]) => messages.push([i, args]));
    const joinTwice = nodes[0]!.join('work');
    // The shim's subscriptions start reading at "now − look-back"; give the real one time to bind too.
    await new Promise((r) => setTimeout(r, 300));
    nodes[1]!.send('work', { task: 'reindex', n: 1 });
    await waitFor(() => messages.length >= 2, timeoutMs, 'the channel message on two nodes');

    const id0 = Object.keys(nodes[1]!.nodes).find((id) => !(id in nodes[0]!.nodes))!;
    nodes[0]!.advertise({ role: 'api', version: 2 });
    (nodes[0] as unknown as { hello?: () => void }).hello?.();
    await waitFor(
      () => (nodes[1]!.nodes[id0]?.advertisement as { version?: number } | undefined)?.version === 2,
      timeoutMs,
      'the new advertisement',
    );
    const readvertised = nodes[1]!.nodes[id0]!.advertisement;

    events.push({ node: -1, event: 'stop-called', args: [] });
    await nodes[firstMaster]!.stop();
    const rest = nodes.filter((_, i) => i !== firstMaster);
    await waitFor(
      () =>
        rest.every((d) => Object.keys(d.nodes).length === 1) &&
        rest.filter((d) => d.me.isMaster).length === 1 &&
        rest.every((d) => d.me.isMaster || Object.values(d.nodes).some((n) => n.isMaster)),
      timeoutMs,
      'a new master after the first one stopped',
    );
    const secondMaster = nodes.findIndex((d, i) => i !== firstMaster && d.me.isMaster);
    await new Promise((r) => setTimeout(r, 300));
    return {
      events,
      firstMaster,
      secondMaster,
      messages,
      readvertised,
      reservedJoin,
      reservedSend,
      joinTwice,
    };
  } finally {
    await Promise.all(nodes.map((d) => d.stop()));
  }
}

/**
 * What both implementations must agree on, by role (first master, second master, other):
 * the order of leadership and membership facts before the stop, the set of facts after it
 * (a graceful hand-over on the table may announce the new master before the old row is gone,
 * while node-discover could only time the old master out first), and every payload shape.
 */
export function summarize(result: ScenarioResult): {
  roles: Record<string, { before: string[]; after: string[]; added: number }>;
  shapes: Record<string, unknown>;
  promotions: number;
} {
  const stopAt = result.events.findIndex((e) => e.event === 'stop-called');
  const role = (node: number): string =>
    node === result.firstMaster ? 'first' : node === result.secondMaster ? 'second' : 'other';
  const roles: Record<string, { before: string[]; after: string[]; added: number }> = {};
  for (const node of [0, 1, 2]) {
    const mine = result.events.map((e, i) => ({ ...e, i })).filter((e) => e.node === node);
    const facts = (list: typeof mine): string[] =>
      list.filter((e) => e.event !== 'helloReceived' && e.event !== 'added').map((e) => e.event);
    roles[role(node)] = {
      before: facts(mine.filter((e) => stopAt < 0 || e.i < stopAt)),
      after: facts(mine.filter((e) => stopAt >= 0 && e.i >= stopAt)).sort(),
      added: mine.filter((e) => e.event === 'added').length,
    };
  }
  const shapes: Record<string, unknown> = {};
  for (const e of result.events) if (e.node >= 0) shapes[e.event] ??= e.args.map((a) => shape(a));
  shapes['message'] = result.messages[0]?.[1].map((a) => shape(a));
  const promotions = result.events.filter((e) => e.event === 'promotion').length;
  return { roles, shapes, promotions };
}
