/**
 * What an idle cluster costs, counted two ways and checked against the cost model, in the same run
 * as a crash failover and a graceful handoff.
 *
 * 1. An idle 3-node cluster at the runtime's defaults (createCluster, one singleton every 60 s, one
 *    subscribed channel), each node a separate process whose storage traffic goes through its own
 *    counting proxy (bench/support/counting-proxy.ts). Over a steady window (--seconds, ≥ 90 s by
 *    default) each node's transactions are counted by the proxy and by the node's own counter
 *    (`storage.transactions`, what `cluster.transactions()` reports), and both are compared with the
 *    model (`transactionsPerNodeHour`) per node and per kind: they must agree within 10 %.
 * 2. Crash failover: kill -9 of the leader process → `elected` on another node (target ≤ L + 1 s).
 * 3. Graceful handoff: SIGTERM of the leader → `stop()` releases and announces → `elected` (≤ 1 s).
 * 4. The node-discover shim at its defaults (hello every 1 s), counted the same way
 *    (--shim-seconds, 0 skips it).
 *
 * Run: npm run bench:idle-cost [-- --seconds 90 --shim-seconds 90]. About 4–5 minutes.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { azuriteConnectionString, startAzurite, type AzuriteInstance } from '../src/dev/index.js';
import { transactionsPerNodeHour, type NodeHourTransactions } from '../src/cost/index.js';
import {
  classifyStorageRequest,
  isThrottledResponse,
  STORAGE_TRANSACTION_KINDS,
  type StorageTransactionKind,
  type TransactionCounts,
} from '../src/storage/index.js';
import { resolveLeaseElectorOptions } from '../src/lease/index.js';
import { MEMBERSHIP_DEFAULTS } from '../src/membership/index.js';
import { resolveTableBusTimings } from '../src/bus/index.js';
import { type ProxiedRequest } from './support/counting-proxy.js';
import { NodeProcess, waitForEvent as waitForEventIn, type NodeEvent } from '../test/helpers/node-process.js';
import {
  crashLeader,
  proxiedSlots,
  stopLeader,
  waitForLeader as waitForLeaderIn,
  type CrashResult,
  type NodeSlot,
} from './support/node-slots.js';
import { runBench } from './support/run-bench.js';
import { CHANNEL_SHIM_IDLE_POLL_MS } from '../shims/cluster-binding/index.js';
import { count, machineLine, note, printTable, progress, seconds, sleep } from './support/report.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '90' },
    'shim-seconds': { type: 'string' },
  },
});
const WINDOW_MS = Number(args.seconds) * 1000;
const SHIM_WINDOW_MS = Number(args['shim-seconds'] ?? args.seconds) * 1000;
if (!(WINDOW_MS >= 10_000) || !(SHIM_WINDOW_MS >= 0)) {
  throw new Error('--seconds must be at least 10 and --shim-seconds at least 0');
}

// The defaults under test, read from the runtime (nothing below sets a timing).
const BUS = resolveTableBusTimings({});
const LEASE = resolveLeaseElectorOptions({ storage: {} as never, cluster: 'bench', nodeId: 'bench' });
const CRASH_TARGET_MS = LEASE.leaseDurationMs + 1000;
const HANDOFF_TARGET_MS = 1000;
const BUDGET_PER_NODE_HOUR = 1500;
const SINGLETON_TICKS_PER_HOUR = 60;
const AGREEMENT = 0.1;
/** Per-kind agreement is judged only where the model expects this many requests in the window. */
const MIN_EXPECTED_FOR_KIND = 20;
const SHIM_HELLO_MS = 1000;
/** Before counting: start-up traffic passes and an idle bus reaches its longest pause (0.5 → 15 s). */
const SETTLE_MS = Math.max(8000, 2 * BUS.idlePollIntervalMs + BUS.quietAfterMs);

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE_SCRIPT = fileURLToPath(new URL('./idle-cost-node.ts', import.meta.url));
const WATCHDOG_MS = 10 * 60_000 + WINDOW_MS + SHIM_WINDOW_MS;

const history: NodeEvent[] = [];

/** A node process (test/helpers/node-process.ts) that also answers for its transaction counter over IPC. */
class CountingNode extends NodeProcess {
  #pendingCounts: ((counts: TransactionCounts) => void) | undefined;

  constructor(nodeId: string, env: Record<string, string>) {
    super(nodeId, NODE_SCRIPT, history, env, { ipc: true });
    this.child.on('message', (message: { type: string; counts?: TransactionCounts }) => {
      if (message.type === 'counts' && message.counts) this.#pendingCounts?.(message.counts);
    });
  }

  resetCounter(): void {
    this.child.send({ type: 'reset' });
  }

  counts(): Promise<TransactionCounts> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.nodeId} did not report its counts`)), 10_000);
      this.#pendingCounts = (counts) => {
        clearTimeout(timer);
        resolve(counts);
      };
      this.child.send({ type: 'counts' });
    });
  }
}

type Slot = NodeSlot<CountingNode>;
const waitForEvent = (predicate: (e: NodeEvent) => boolean, timeoutMs: number, what: string) =>
  waitForEventIn(history, predicate, timeoutMs, what);
const waitForLeader = (group: Slot[], timeoutMs: number) => waitForLeaderIn(group, history, timeoutMs);

let azurite: AzuriteInstance | undefined;
const slots: Slot[] = [];

async function cleanup(): Promise<void> {
  await Promise.allSettled(slots.map((s) => s.node?.kill()));
  await Promise.allSettled(slots.map((s) => s.proxies.close()));
  await azurite?.stop();
}

async function newSlots(n: number): Promise<Slot[]> {
  const made = await proxiedSlots<CountingNode>(azurite!, azuriteConnectionString, n);
  slots.push(...made);
  return made;
}

async function startNode(slot: Slot, mode: string, cluster: string, prefix: string): Promise<CountingNode> {
  slot.generation++;
  const nodeId = `${prefix}${slot.index}-${slot.generation}`;
  const node = new CountingNode(nodeId, {
    CONNECTION_STRING: slot.proxies.connectionString,
    CLUSTER: cluster,
    MODE: mode,
  });
  slot.node = node;
  await waitForEvent((e) => e.node === nodeId && e.type === 'ready', 60_000, `${nodeId} ready`);
  return node;
}

interface NodeCount {
  node: string;
  role: 'leader' | 'follower';
  counted: TransactionCounts;
  proxy: Record<StorageTransactionKind, number>;
  proxyTotal: number;
  proxyThrottled: number;
  windowMs: number;
}

function classifyProxied(requests: ProxiedRequest[], service: 'blob' | 'table') {
  const byKind = Object.fromEntries(STORAGE_TRANSACTION_KINDS.map((k) => [k, 0])) as Record<
    StorageTransactionKind,
    number
  >;
  let throttled = 0;
  for (const r of requests) {
    const { kind } = classifyStorageRequest({
      service,
      method: r.method,
      url: `http://127.0.0.1${r.url}`,
      body: r.body,
      leaseAction: r.leaseAction,
    });
    byKind[kind]++;
    if (isThrottledResponse(r.status, r.errorCode)) throttled++;
  }
  return { byKind, throttled };
}

/** Counts every node of `group` over one steady window, by proxy and by the node's own counter. */
async function countWindow(group: Slot[], windowMs: number, label: string): Promise<NodeCount[]> {
  const leader = await waitForLeader(group, LEASE.leaseDurationMs * 3);
  for (const slot of group) {
    slot.proxies.reset();
    slot.node!.resetCounter();
  }
  const startedAt = Date.now();
  progress(`${label}: counting storage requests for ${windowMs / 1000} s (leader ${leader.node!.nodeId})`);
  await sleep(windowMs);
  const counted = await Promise.all(group.map((slot) => slot.node!.counts()));
  const elapsed = Date.now() - startedAt;
  if (history.some((e) => e.t >= startedAt && (e.type === 'elected' || e.type === 'demoted'))) {
    throw new Error(
      `${label}: leadership changed during the counting window; the per-role figures would be mixed`,
    );
  }
  return group.map((slot, i) => {
    const blob = classifyProxied(slot.proxies.blob.requests, 'blob');
    const table = classifyProxied(slot.proxies.table.requests, 'table');
    const proxy = Object.fromEntries(
      STORAGE_TRANSACTION_KINDS.map((k) => [k, blob.byKind[k] + table.byKind[k]]),
    ) as Record<StorageTransactionKind, number>;
    return {
      node: slot.node!.nodeId,
      role: slot === leader ? ('leader' as const) : ('follower' as const),
      counted: counted[i]!,
      proxy,
      proxyTotal: slot.proxies.blob.requests.length + slot.proxies.table.requests.length,
      proxyThrottled: blob.throttled + table.throttled,
      windowMs: elapsed,
    };
  });
}

function deviation(measured: number, model: number): number {
  return model === 0 ? (measured === 0 ? 0 : Infinity) : (measured - model) / model;
}

const percent = (d: number): string =>
  Number.isFinite(d) ? `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)} %` : 'n/a';

/** Prints model vs counted, per node and per kind; returns whether every judged figure agreed. */
function reportCounts(
  title: string,
  counts: NodeCount[],
  model: { leader: NodeHourTransactions; follower: NodeHourTransactions },
): boolean {
  let agreed = true;
  const rows: string[][] = [];
  for (const c of counts) {
    const perHour = 3_600_000 / c.windowMs;
    const expected = model[c.role];
    for (const kind of STORAGE_TRANSACTION_KINDS) {
      const modelled = expected.byKind[kind];
      const counter = c.counted.byKind[kind].requests * perHour;
      const proxied = c.proxy[kind] * perHour;
      if (modelled === 0 && counter === 0 && proxied === 0) continue;
      const judged = (modelled * c.windowMs) / 3_600_000 >= MIN_EXPECTED_FOR_KIND;
      const ok =
        Math.abs(deviation(counter, modelled)) <= AGREEMENT &&
        Math.abs(deviation(proxied, modelled)) <= AGREEMENT;
      if (judged && !ok) agreed = false;
      rows.push([
        c.node,
        c.role,
        kind,
        count(modelled),
        count(counter),
        count(proxied),
        percent(deviation(counter, modelled)),
        judged ? (ok ? 'yes' : 'NO') : `(< ${MIN_EXPECTED_FOR_KIND} in window)`,
      ]);
    }
    const counterTotal = c.counted.total.requests * perHour;
    const proxyTotal = c.proxyTotal * perHour;
    const ok =
      Math.abs(deviation(counterTotal, expected.total)) <= AGREEMENT &&
      Math.abs(deviation(proxyTotal, expected.total)) <= AGREEMENT;
    if (!ok) agreed = false;
    rows.push([
      c.node,
      c.role,
      'TOTAL',
      count(expected.total),
      count(counterTotal),
      count(proxyTotal),
      percent(deviation(counterTotal, expected.total)),
      ok ? 'yes' : 'NO',
    ]);
  }
  printTable(
    title,
    [
      'node',
      'role',
      'kind',
      'model/h',
      'counter/h',
      'proxy/h',
      'counter vs model',
      `within ${AGREEMENT * 100} %`,
    ],
    rows,
  );
  return agreed;
}

function reportBudget(counts: NodeCount[]): void {
  printTable(
    `Per node-hour against the goal (≤ ${count(BUDGET_PER_NODE_HOUR)} per node-hour, issue #11)`,
    ['node', 'role', 'proxy/h', 'counter/h', 'throttled (proxy, counter)', 'goal', 'met'],
    counts.map((c) => {
      const perHour = 3_600_000 / c.windowMs;
      const proxied = c.proxyTotal * perHour;
      return [
        c.node,
        c.role,
        count(proxied),
        count(c.counted.total.requests * perHour),
        `${c.proxyThrottled}, ${c.counted.total.throttled}`,
        `≤ ${count(BUDGET_PER_NODE_HOUR)}`,
        proxied <= BUDGET_PER_NODE_HOUR ? 'yes' : 'no',
      ];
    }),
  );
}

async function crashRun(group: Slot[], cluster: string): Promise<CrashResult> {
  const { slot, result } = await crashLeader(group, history, LEASE);
  await startNode(slot, 'core', cluster, 'node');
  return result;
}

function commitLine(): string {
  try {
    const head = execFileSync('git', ['log', '-1', '--format=%h %s'], { cwd: REPO_ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT })
      .toString()
      .trim();
    return `commit ${head.slice(0, 100)}${dirty ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

async function main(): Promise<void> {
  progress('starting Azurite and 3 node processes');
  azurite = await startAzurite();
  const run = Date.now().toString(36);

  // 1. The idle core cluster.
  const coreCluster = `idle${run}`;
  const core = await newSlots(3);
  await Promise.all(core.map((s) => startNode(s, 'core', coreCluster, 'node')));
  await waitForLeader(core, LEASE.leaseDurationMs * 3);
  // Start-up traffic (table and container creation, first reads, the first tick claim) passes first,
  // and the bus's polls slow from their start-up pace to the idle pause (doubling after a quiet spell).
  await sleep(SETTLE_MS);
  const coreCounts = await countWindow(core, WINDOW_MS, 'core');
  const coreModel = transactionsPerNodeHour({ singletonTicksPerHour: SINGLETON_TICKS_PER_HOUR }, 3);

  // 2–3. Failover in the same run.
  const crash = await crashRun(core, coreCluster);
  await sleep(3000);
  const { result: graceful } = await stopLeader(core, history, LEASE);
  await Promise.allSettled(
    core.map((s) => (s.node?.running ? s.node.signal('SIGTERM', 'sigterm') : undefined)),
  );
  await Promise.allSettled(core.map((s) => s.node?.exited));

  // 4. The node-discover shim at its defaults.
  let shimCounts: NodeCount[] | undefined;
  if (SHIM_WINDOW_MS > 0) {
    const shimCluster = `nd${run}`;
    const shim = await newSlots(3);
    await Promise.all(shim.map((s) => startNode(s, 'node-discover', shimCluster, 'nd')));
    await waitForLeader(shim, LEASE.leaseDurationMs * 3);
    await sleep(SETTLE_MS);
    shimCounts = await countWindow(shim, SHIM_WINDOW_MS, 'node-discover');
    await Promise.allSettled(shim.map((s) => s.node?.signal('SIGTERM', 'sigterm')));
    await Promise.allSettled(shim.map((s) => s.node?.exited));
  }

  process.stdout.write(
    `gossipless bench/idle-cost — 3 node processes on in-memory Azurite, each through its own counting proxy, ` +
      `runtime defaults (L ${LEASE.leaseDurationMs / 1000} s, renew ${LEASE.renewIntervalMs / 1000} s, retry ${LEASE.retryIntervalMs / 1000} s, ` +
      `heartbeat ${MEMBERSHIP_DEFAULTS.heartbeatIntervalMs / 1000} s, bus poll ${BUS.pollIntervalMs / 1000} s → ${BUS.idlePollIntervalMs / 1000} s idle), ` +
      `one singleton every 60 s, one subscribed channel\n${await machineLine()}\n${commitLine()}\n`,
  );
  const coreAgreed = reportCounts(
    `Idle core cluster: transactions per node-hour, model vs counted (window ${seconds(coreCounts[0]!.windowMs)})`,
    coreCounts,
    coreModel,
  );
  note(
    `model: transactionsPerNodeHour({ singletonTicksPerHour: ${SINGLETON_TICKS_PER_HOUR} }, 3); counter: the node's storage.transactions (cluster.transactions()); proxy: every HTTP request, classified alike`,
  );
  note(`model and counts agree within ${AGREEMENT * 100} %: ${coreAgreed ? 'yes' : 'NO'}`);
  reportBudget(coreCounts);

  /** One row: a measure of one handoff, with its target (none: '—'). */
  const row = (
    measure: string,
    run: { from: string; next: string; epoch: number },
    ms: number,
    targetMs?: number,
  ): string[] => [
    measure,
    run.from,
    run.next,
    String(run.epoch),
    seconds(ms),
    targetMs === undefined ? '—' : `≤ ${seconds(targetMs)}`,
    targetMs === undefined ? '—' : ms <= targetMs ? 'yes' : 'no',
  ];
  const crashed = { ...crash, from: crash.killed };
  const stopped = { ...graceful, from: graceful.stopped };
  printTable(
    'Failover in the same run',
    ['measure', 'from', 'to', 'epoch', 'time', 'target', 'met'],
    [
      row('crash: kill -9 → elected', crashed, crash.killToElected, CRASH_TARGET_MS),
      row('crash: last renewal → elected', crashed, crash.renewToElected, CRASH_TARGET_MS),
      row('graceful: SIGTERM → elected (stop() times its release)', stopped, graceful.termToElected),
      row('graceful: old leader demoted → new elected (gap)', stopped, graceful.gap, HANDOFF_TARGET_MS),
      row('graceful: release → elected (gap)', stopped, graceful.releaseToElected, HANDOFF_TARGET_MS),
    ],
  );

  if (shimCounts) {
    // The shim's own defaults: the hello is the heartbeat, and its channels poll at most 1 s apart.
    const shimTimings = { heartbeatIntervalMs: SHIM_HELLO_MS, idlePollIntervalMs: CHANNEL_SHIM_IDLE_POLL_MS };
    const shimModel = transactionsPerNodeHour(shimTimings, 3);
    const shimAgreed = reportCounts(
      `node-discover shim at its defaults (hello ${SHIM_HELLO_MS / 1000} s): transactions per node-hour (window ${seconds(shimCounts[0]!.windowMs)})`,
      shimCounts,
      shimModel,
    );
    note(
      `model: transactionsPerNodeHour(${JSON.stringify(shimTimings)}, 3); agree within ${AGREEMENT * 100} %: ${shimAgreed ? 'yes' : 'NO'}`,
    );
    const slower = transactionsPerNodeHour({ heartbeatIntervalMs: 15_000 }, 3).follower.byKind.membership;
    note(
      `the hello interval is the membership heartbeat (an upsert and a digest read each hello): new Discover({ helloInterval: 15000 }) ` +
        `(or gossipless.membership.heartbeatIntervalMs) lowers membership from ${count(shimModel.follower.byKind.membership)} to ${count(slower)} per node-hour`,
    );
  }
  const errors = history.filter((e) => e.type === 'error');
  note(`errors reported by nodes during the whole run: ${errors.length}`);
}

await runBench('bench/idle-cost', WATCHDOG_MS, main, cleanup);
