import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { azuriteConnectionString, startAzurite } from '../../src/dev/index.js';
import { bundleNodeScript } from '../../test/support/node-bundle.js';
import { StorageFaultProxy, type FaultRule } from '../../test/support/storage-fault-proxy.js';
import {
  checkHistory,
  parseHistory,
  type CheckerOptions,
  type CheckResult,
  type HistoryRecord,
} from './nemesis-checker.js';

/** The faults the nemesis injects. */
export const FAULT_KINDS = [
  'kill-9',
  'sigstop-past-lease',
  'brownout-hold-then-commit',
  'brownout-reply-dropped-after-commit',
  'brownout-connection-reset',
  'throttle-503-retry-after',
  'clock-skew-60s',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Options of {@link runNemesis}. */
export interface NemesisOptions {
  nodes: number;
  /** How long faults are injected. */
  durationMs: number;
  /** Quiet time after the faults for consumers to catch up before the nodes stop. @default 15000 */
  drainMs?: number;
  /** Mean gap between two fault injections. @default 5000 */
  meanGapMs?: number;
  /** Where the histories go. */
  outDir: string;
  /** Use this Azurite instead of starting one. */
  azurite?: { blobPort: number; tablePort: number };
  /** Progress lines. @default silent */
  log?: (line: string) => void;
  /** Random source. @default Math.random */
  random?: () => number;
}

/** What the run did and what the checker found. */
export interface NemesisReport {
  faults: Record<FaultKind, number>;
  /** Of those, injected on the node that was leader at the time. */
  onLeader: Record<FaultKind, number>;
  check: CheckResult;
  durationMs: number;
  historyDir: string;
}

const NODE_SCRIPT = fileURLToPath(new URL('./nemesis-node.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Lease 15 s (the shortest Azure allows): a pause past it makes the lease expire under the node. */
const LEASE_MS = 15_000;

interface Node {
  name: string;
  process: ChildProcess | undefined;
  exited: Promise<void>;
  leader: boolean;
  /** Process fault in progress (dead or paused) until this wall time. */
  busyUntil: number;
  rule: FaultRule;
  proxies: StorageFaultProxy[];
  historyFile: string;
  connectionString: string;
}

/**
 * Runs `nodes` node processes on Azurite, each through its own fault proxy pair, and injects the
 * faults of {@link FAULT_KINDS} on a random schedule (each kind drawn from a shuffled bag, so
 * counts stay even). Then stops faulting, lets consumers drain, stops the nodes and checks the
 * histories with {@link checkHistory}.
 */
export async function runNemesis(options: NemesisOptions): Promise<NemesisReport> {
  const log = options.log ?? (() => undefined);
  const random = options.random ?? Math.random;
  const drainMs = options.drainMs ?? 15_000;
  const meanGapMs = options.meanGapMs ?? 5000;
  await mkdir(options.outDir, { recursive: true });
  // One bundled file (packages stay in node_modules): five processes that each transpiled the
  // sources through tsx took 15-60 s to start on a loaded 2-core machine, longer than a short run.
  const nodeBundle = bundleNodeScript(NODE_SCRIPT);
  const ownAzurite = options.azurite ? undefined : await startAzurite();
  const azurite = options.azurite ?? ownAzurite!;
  const cluster = `nemesis${Date.now().toString(36)}`;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, action: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const onLeader = { ...faults };
  const nodes: Node[] = [];
  const start = (node: Node): void => {
    const child = spawn(process.execPath, [nodeBundle], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NODE_ID: node.name,
        CLUSTER: cluster,
        CONNECTION_STRING: node.connectionString,
        HISTORY_FILE: node.historyFile,
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    child.on('message', (m: { leader?: boolean }) => {
      if (typeof m.leader === 'boolean' && node.process === child) node.leader = m.leader;
    });
    node.process = child;
    node.leader = false;
    node.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (code !== 0 && signal === null) log(`${node.name} exited with ${code}: ${stderr}`);
        else if (process.env.NEMESIS_DEBUG) log(`${node.name} exited (${code ?? signal}): ${stderr}`);
        resolve();
      }),
    );
  };

  for (let i = 0; i < options.nodes; i++) {
    const name = `n${i + 1}`;
    const blob = await new StorageFaultProxy(azurite.blobPort, 'blob').listen();
    const table = await new StorageFaultProxy(azurite.tablePort, 'table').listen();
    blob.maxRecords = 0;
    table.maxRecords = 0;
    const node: Node = {
      name,
      process: undefined,
      exited: Promise.resolve(),
      leader: false,
      busyUntil: 0,
      rule: () => undefined,
      proxies: [blob, table],
      historyFile: path.join(options.outDir, `history-${name}.jsonl`),
      connectionString: azuriteConnectionString(
        `http://127.0.0.1:${blob.port}/devstoreaccount1`,
        `http://127.0.0.1:${table.port}/devstoreaccount1`,
      ),
    };
    for (const proxy of node.proxies) proxy.rule = (request) => node.rule(request);
    nodes.push(node);
    start(node);
  }

  const brownout = (node: Node, ms: number, rule: FaultRule): void => {
    node.rule = rule;
    later(ms, () => {
      if (node.rule === rule) node.rule = () => undefined;
    });
  };
  const between = (low: number, high: number): number => low + random() * (high - low);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  let bag: FaultKind[] = [];
  const nextKind = (): FaultKind => {
    if (bag.length === 0) bag = [...FAULT_KINDS].sort(() => random() - 0.5);
    return bag.pop()!;
  };

  const inject = (kind: FaultKind): boolean => {
    const now = Date.now();
    const idle = nodes.filter((n) => n.busyUntil < now);
    // At most two nodes dead or paused at once, so the cluster keeps running between faults.
    const processFaulted = nodes.length - idle.length;
    const processKind = kind === 'kill-9' || kind === 'sigstop-past-lease';
    if (processKind && (processFaulted >= 2 || idle.length === 0)) return false;
    const candidates = processKind ? idle : nodes;
    const leaderNode = candidates.find((n) => n.leader);
    // Aim at the leader half of the time: its faults are the ones that test fencing.
    const node = leaderNode && random() < 0.5 ? leaderNode : pick(candidates);
    const wasLeader = node.leader;
    switch (kind) {
      case 'kill-9': {
        node.process?.kill('SIGKILL');
        node.leader = false;
        const downMs = between(1000, 3000);
        node.busyUntil = now + downMs + 2000;
        later(downMs, () => start(node));
        break;
      }
      case 'sigstop-past-lease': {
        node.process?.kill('SIGSTOP');
        const pauseMs = between(LEASE_MS + 2000, LEASE_MS + 6000);
        node.busyUntil = now + pauseMs + 1000;
        const paused = node.process;
        later(pauseMs, () => paused?.kill('SIGCONT'));
        break;
      }
      case 'brownout-hold-then-commit': {
        const holdMs = between(3500, 6000);
        brownout(node, between(2000, 4000), () =>
          random() < 0.5 ? { kind: 'delay', ms: holdMs } : undefined,
        );
        break;
      }
      case 'brownout-reply-dropped-after-commit':
        brownout(node, between(2000, 4000), () => (random() < 0.4 ? { kind: 'drop-reply' } : undefined));
        break;
      case 'brownout-connection-reset':
        brownout(node, between(2000, 4000), () => (random() < 0.4 ? { kind: 'reset' } : undefined));
        break;
      case 'throttle-503-retry-after': {
        const retryAfterMs = String(Math.round(between(300, 1500)));
        brownout(node, between(2000, 4000), () => ({
          kind: 'respond',
          status: 503,
          errorCode: 'ServerBusy',
          headers: { 'x-ms-retry-after-ms': retryAfterMs },
        }));
        break;
      }
      case 'clock-skew-60s': {
        node.process?.send?.({ clockOffsetMs: random() < 0.5 ? 60_000 : -60_000 });
        const skewed = node.process;
        later(between(10_000, 20_000), () => {
          if (node.process === skewed && skewed?.connected) skewed.send({ clockOffsetMs: 0 });
        });
        break;
      }
    }
    faults[kind]++;
    if (wasLeader) onLeader[kind]++;
    log(`${new Date().toISOString()} ${kind} on ${node.name}${wasLeader ? ' (leader)' : ''}`);
    return true;
  };

  const startedAt = Date.now();
  // Let the nodes start and elect before the first fault.
  await new Promise((r) => setTimeout(r, 5000));
  while (Date.now() - startedAt < options.durationMs) {
    await new Promise((r) => setTimeout(r, between(0.4, 1.6) * meanGapMs));
    if (Date.now() - startedAt >= options.durationMs) break;
    const kind = nextKind();
    if (!inject(kind)) bag.unshift(kind);
  }
  log(`${new Date().toISOString()} faults over; draining ${drainMs} ms`);
  // End every fault: resume paused nodes, restart killed ones, clear brownouts and skews.
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  for (const node of nodes) {
    node.rule = () => undefined;
    if (node.process && node.process.exitCode === null && node.process.signalCode === null) {
      node.process.kill('SIGCONT');
      if (node.process.connected) node.process.send({ clockOffsetMs: 0 });
    } else start(node);
  }
  await new Promise((r) => setTimeout(r, 3000));
  for (const node of nodes) if (node.process?.connected) node.process.send({ stopPublishing: true });
  await new Promise((r) => setTimeout(r, drainMs));
  for (const node of nodes) node.process?.kill('SIGTERM');
  await Promise.race([Promise.all(nodes.map((n) => n.exited)), new Promise((r) => setTimeout(r, 15_000))]);
  for (const node of nodes) node.process?.kill('SIGKILL');
  await Promise.all(nodes.map((n) => n.exited));
  for (const node of nodes) for (const proxy of node.proxies) await proxy.close();
  await ownAzurite?.stop();

  const records = await readHistories(options.outDir);
  const check = checkHistory(records, checkerOptions(drainMs));
  return { faults, onLeader, check, durationMs: Date.now() - startedAt, historyDir: options.outDir };
}

/** Reads the history files of a run (`history-*.jsonl` in `dir`), for the checker. */
export async function readHistories(dir: string): Promise<HistoryRecord[]> {
  const records: HistoryRecord[] = [];
  for (const file of await readdir(dir)) {
    if (!file.startsWith('history-')) continue;
    records.push(...parseHistory(await readFile(path.join(dir, file), 'utf8')));
  }
  return records;
}

/** The checker's settings for a run whose drain lasted `drainMs`. */
export function checkerOptions(drainMs: number): CheckerOptions {
  return { redeliveryWindowMs: 20_000, drainMs: drainMs / 2 };
}

/** The report as printed: faults by kind, what was checked, and every violation. */
export function formatNemesisReport(report: NemesisReport): string {
  return [
    `faults injected (${sum(report.faults)}, ${sum(report.onLeader)} of them on the leader):`,
    ...FAULT_KINDS.map(
      (k) =>
        `  ${k.padEnd(38)} ${String(report.faults[k]).padStart(3)}  (on the leader: ${report.onLeader[k]})`,
    ),
    formatCheckResult(report.check),
  ].join('\n');
}

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** What the checker checked, and its violations (the first 50). */
export function formatCheckResult(check: CheckResult): string {
  const lines = [
    `checked: ${check.terms} terms, ${check.ticks} ticks (${check.commits} commits), ${check.messages} acknowledged publishes, ${check.deliveries} deliveries to ${check.consumers} durable consumers`,
    `violations: ${check.violations.length}`,
    ...check.violations.slice(0, 50).map((v) => `  ${v.property}: ${v.detail}`),
  ];
  if (check.violations.length > 50) lines.push(`  … ${check.violations.length - 50} more`);
  return lines.join('\n');
}
