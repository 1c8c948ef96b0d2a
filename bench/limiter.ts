/**
 * bench/limiter: overshoot of the CRDT limiter shim under 3 nodes (split and table modes) and its
 * decisions per second, with rate-limiter-flexible's RateLimiterMemory measured in the same run
 * as the anchor. Starts an in-memory Azurite; run with `npm run bench:limiter`.
 *
 * Overshoot = max over complete windows of (admitted across the 3 nodes − limit) / limit, with
 * the offered load at 4× the limit, spread evenly or skewed (one node gets 70 %). `nodeSpread` is
 * how far apart the nodes' estimates of the server's clock (hence their window edges) were when
 * the load started; `serverTimeError` the worst estimate's distance from the server's clock at the
 * row's end (Azurite runs on this machine, so its clock is `Date.now()`).
 *
 * Memory: heap per tracked key after consuming once for each of N distinct keys in one window
 * (`heapUsed` after a forced GC, against the same limiter's heap just before), and what is still
 * held once that window is over: idle, after one decision in the next window, and after one
 * decision two windows later (when the shim's sweep drops the keys of windows before the previous
 * one). RateLimiterMemory, which frees each key by its own timer, is the anchor in the same run.
 * Needs `node --expose-gc` (the npm script passes it).
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { CrdtRateLimiter, type CrdtRateLimiterOptions } from '../shims/crdt-rate-limiter/index.js';
import { connectStorage } from '../src/storage/index.js';
import { startAzurite } from '../src/dev/index.js';
import { bytes, gcHeapUsed, mib } from './support/heap.js';

const LIMIT = 300;
const WINDOW_MS = 2000;
const WINDOWS = 4;
const TICK_MS = 10;
const NODES = 3;
/** Between the starts of the limiter nodes. */
const START_STAGGER_MS = 333;
/** Every limiter cluster runs this long after its membership converged, before it is measured. */
const WARM_UP_MS = 6000;
/** Attempts per tick across the cluster: 4× the limit per window. */
const ATTEMPTS_PER_TICK = (4 * LIMIT) / (WINDOW_MS / TICK_MS);

interface Row {
  limiter: string;
  load: string;
  overshoot: string;
  worstWindow: string;
  decisionsPerSecond: string;
  /** Largest difference between the nodes' server-time estimates when the load starts (window edges disagree by this). */
  nodeSpread: string;
  /** Worst |node's server-time estimate − Date.now()| at the row's end (Azurite runs here: its clock is Date.now()). */
  serverTimeError: string;
}

type Decide = (node: number, key: string) => Promise<boolean> | boolean;

function share(load: 'even' | 'skewed'): number[] {
  return load === 'even' ? [1 / 3, 1 / 3, 1 / 3] : [0.7, 0.15, 0.15];
}

/** Drives the offered load for WINDOWS whole windows; returns admitted counts per window. */
async function drive(decide: Decide, windowOf: () => number, load: 'even' | 'skewed'): Promise<number[]> {
  const weights = share(load);
  const admitted = new Map<number, number>();
  const credit = new Array<number>(NODES).fill(0);
  // Start on a window boundary so every counted window is whole.
  const first = windowOf() + 1;
  while (windowOf() < first) await new Promise((r) => setTimeout(r, 2));
  while (windowOf() < first + WINDOWS) {
    const pending: Array<Promise<void>> = [];
    for (let node = 0; node < NODES; node++) {
      credit[node]! += ATTEMPTS_PER_TICK * weights[node]!;
      while (credit[node]! >= 1) {
        credit[node]! -= 1;
        const window = windowOf();
        pending.push(
          Promise.resolve(decide(node, 'tenant-1')).then((ok) => {
            if (ok) admitted.set(window, (admitted.get(window) ?? 0) + 1);
          }),
        );
      }
    }
    await Promise.all(pending);
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  return Array.from({ length: WINDOWS }, (_, i) => admitted.get(first + i) ?? 0);
}

function summarize(limiter: string, load: string, perWindow: number[], decisionsPerSecond: number): Row {
  const worst = Math.max(...perWindow);
  return {
    limiter,
    load,
    overshoot: `${(((worst - LIMIT) / LIMIT) * 100).toFixed(1)} %`,
    worstWindow: `${worst} / ${LIMIT}`,
    decisionsPerSecond: decisionsPerSecond ? Math.round(decisionsPerSecond).toLocaleString('en-US') : '',
    nodeSpread: '',
    serverTimeError: '',
  };
}

/** Decisions per second on one node over 1000 keys, all allowed. */
async function throughput(
  decide: (key: string) => Promise<unknown> | unknown,
  isAsync: boolean,
): Promise<number> {
  const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
  const n = 200_000;
  // Warm up first, so the JIT has compiled each limiter's path before it is timed.
  if (isAsync) for (let i = 0; i < 50_000; i++) await decide(keys[i % 1000]!);
  else for (let i = 0; i < 50_000; i++) decide(keys[i % 1000]!);
  const start = performance.now();
  if (isAsync) for (let i = 0; i < n; i++) await decide(keys[i % 1000]!);
  else for (let i = 0; i < n; i++) decide(keys[i % 1000]!);
  return n / ((performance.now() - start) / 1000);
}

/**
 * Three limiter nodes on one cluster. They start a third of a second apart, as separate processes
 * would start at different moments: nodes started in the same millisecond see the same `Date`
 * headers at the same phases, so their server-time estimates would be wrong in the same way and
 * their window edges would agree by accident. Then every node gets the same warm-up, `WARM_UP_MS`
 * after membership has converged, before the load starts (steady state, not start-up).
 */
async function crdtNodes(
  connectionString: string,
  options: Partial<CrdtRateLimiterOptions>,
  warmUpMs: number,
): Promise<CrdtRateLimiter[]> {
  const cluster = `bench-${Math.random().toString(36).slice(2, 8)}`;
  const nodes: CrdtRateLimiter[] = [];
  for (let i = 0; i < NODES; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, START_STAGGER_MS));
    nodes.push(
      new CrdtRateLimiter({
        limit: LIMIT,
        windowMs: WINDOW_MS,
        nodeId: `n${i}`,
        ...options,
        gossipless: {
          cluster,
          storage: connectStorage({ connectionString }),
          tablePrefix: 'bench',
          membership: { heartbeatIntervalMs: 500, memberTtlMs: 3000 },
        },
      }),
    );
  }
  const deadline = Date.now() + 15_000;
  while (!nodes.every((n) => n.liveMembers() === NODES)) {
    if (Date.now() > deadline) throw new Error('members did not converge in 15 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, warmUpMs));
  return nodes;
}

/**
 * A rolling restart of a converged 3-node split-mode cluster under 4× the limit (even load): every
 * two windows, mid-window, one node is stopped and a new one (new node id) takes its traffic at once, as a new
 * pod would without a readiness gate. Returns the requests admitted per window across the cluster.
 */
async function rollingRestart(
  connectionString: string,
  options: Partial<CrdtRateLimiterOptions>,
): Promise<number[]> {
  const nodes = await crdtNodes(connectionString, { mode: 'split', ...options }, 2000);
  const cluster = nodes[0]!.cluster.name;
  const stopping: Array<Promise<void>> = [];
  const windowOf = (): number => Math.floor(Date.now() / WINDOW_MS);
  const first = windowOf() + 1;
  while (windowOf() < first) await new Promise((r) => setTimeout(r, 5));
  const admitted = new Map<number, number>();
  const total = 9;
  let replaced = 0;
  let credit = 0;
  while (windowOf() < first + total) {
    // Mid-window, after the old nodes have used half their shares: a new node that assumes it is
    // alone then admits up to the whole limit on top of what the window already holds.
    const elapsedWindows = Date.now() / WINDOW_MS - first;
    if (replaced < NODES && elapsedWindows >= 2 * replaced + 1.5) {
      const old = nodes[replaced]!;
      stopping.push(old.stop());
      nodes[replaced] = new CrdtRateLimiter({
        limit: LIMIT,
        windowMs: WINDOW_MS,
        nodeId: `r${replaced}`,
        mode: 'split',
        ...options,
        gossipless: {
          cluster,
          storage: connectStorage({ connectionString }),
          tablePrefix: 'bench',
          membership: { heartbeatIntervalMs: 500, memberTtlMs: 3000 },
        },
      });
      replaced++;
    }
    credit += ATTEMPTS_PER_TICK;
    while (credit >= 1) {
      credit -= 1;
      const node = Math.floor(Math.random() * NODES);
      if (nodes[node]!.tryConsume('k')) admitted.set(windowOf(), (admitted.get(windowOf()) ?? 0) + 1);
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all([...stopping, ...nodes.map((n) => n.stop())]);
  return Array.from({ length: total }, (_, i) => admitted.get(first + i) ?? 0);
}

/** Largest difference between the nodes' server-time estimates, read together. */
function spreadOf(nodes: CrdtRateLimiter[]): number {
  const times = nodes.map((n) => n.cluster.bus.serverNow());
  return Math.max(...times) - Math.min(...times);
}

/** Window of the memory rows: long enough for 100k decisions to land in one window. */
const MEM_WINDOW_MS = 3000;
const MEM_KEYS = (process.env.BENCH_MEM_KEYS ?? '10000,100000').split(',').map(Number);
/** Table mode writes one row per key and window at each sync: it is for low-cardinality keys. */
const MEM_TABLE_KEYS = Number(process.env.BENCH_MEM_TABLE_KEYS ?? 10_000);

interface MemoryRow {
  limiter: string;
  keys: string;
  heapBefore: string;
  heldAfterFill: string;
  bytesPerKey: string;
  /** Held (over heapBefore) once the keys' window is over, with no decision since. */
  afterWindowIdle: string;
  /** Held after one decision (a new key) in a later window; (w+k): k windows after the keys' window w. */
  afterNextDecision: string;
  /** Held after one decision two windows after the keys' window. */
  afterTwoWindows: string;
}

interface MemorySubject {
  consume(key: string): unknown;
  /** The subject's window number now. */
  windowOf(): number;
  /**
   * Resolves when a background round of at least `window` has finished (table mode: the next sync),
   * so a reading does not count a sync's requests in flight.
   */
  settle?(window: number): Promise<void>;
  stop(): Promise<void>;
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function memoryRow(label: string, n: number, subject: MemorySubject): Promise<MemoryRow> {
  try {
    // Start at a window edge so all N decisions land in one window.
    const start = subject.windowOf();
    while (subject.windowOf() === start) await sleepMs(2);
    const before = await gcHeapUsed();
    const window = subject.windowOf();
    for (let i = 0; i < n; i++) await subject.consume(`key-${i}`);
    const fillEnd = Date.now();
    if (subject.windowOf() !== window) throw new Error(`${label}: ${n} decisions did not fit one window`);
    await subject.settle?.(window);
    const held = (await gcHeapUsed()) - before;
    // Past the end of the keys' window (and past every RateLimiterMemory key's own expiry).
    while (subject.windowOf() <= window || Date.now() < fillEnd + MEM_WINDOW_MS + 200) await sleepMs(20);
    await subject.settle?.(window + 1);
    const idle = (await gcHeapUsed()) - before;
    const nextAt = subject.windowOf() - window;
    await subject.consume('probe-1');
    await subject.settle?.(window + 1);
    const next = (await gcHeapUsed()) - before;
    while (subject.windowOf() < window + 2 || Date.now() < fillEnd + 2 * MEM_WINDOW_MS + 200)
      await sleepMs(20);
    const laterAt = subject.windowOf() - window;
    await subject.consume('probe-2');
    await subject.settle?.(window + 2);
    const later = (await gcHeapUsed()) - before;
    return {
      limiter: label,
      keys: n.toLocaleString('en-US'),
      heapBefore: mib(before),
      heldAfterFill: mib(held, true),
      bytesPerKey: bytes(held / n),
      afterWindowIdle: mib(idle, true),
      afterNextDecision: `${mib(next, true)} (w+${nextAt})`,
      afterTwoWindows: `${mib(later, true)} (w+${laterAt})`,
    };
  } finally {
    await subject.stop();
  }
}

async function memoryRows(connectionString: string): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  const crdt = async (mode: 'split' | 'table', syncIntervalMs?: number): Promise<MemorySubject> => {
    const limiter = new CrdtRateLimiter({
      limit: 1e9,
      windowMs: MEM_WINDOW_MS,
      nodeId: 'n0',
      mode,
      ...(syncIntervalMs ? { syncIntervalMs } : {}),
      gossipless: {
        cluster: `benchmem-${Math.random().toString(36).slice(2, 8)}`,
        storage: connectStorage({ connectionString }),
        tablePrefix: 'bench',
        membership: { heartbeatIntervalMs: 500, memberTtlMs: 3000 },
      },
    });
    // Measured once the node runs steadily: its own row seen, so membership has listed.
    const deadline = Date.now() + 15_000;
    while (limiter.cluster.membership.view() === undefined) {
      if (Date.now() > deadline) throw new Error('the limiter node did not list its members in 15 s');
      await sleepMs(50);
    }
    return {
      consume: (key) => limiter.tryConsume(key),
      windowOf: () => Math.floor(limiter.cluster.bus.serverNow() / MEM_WINDOW_MS),
      settle: (window) =>
        new Promise<void>((resolve) => {
          if (mode !== 'table') return resolve();
          const onSync = ({ window: synced }: { window: number }): void => {
            if (synced < window) return;
            limiter.off('sync', onSync);
            resolve();
          };
          limiter.on('sync', onSync);
        }),
      stop: () => limiter.stop(),
    };
  };
  for (const n of MEM_KEYS) {
    process.stderr.write(`memory: ${n} keys\n`);
    const memory = new RateLimiterMemory({ points: 1e9, duration: MEM_WINDOW_MS / 1000 });
    const t0 = Date.now();
    rows.push(
      await memoryRow('RateLimiterMemory (anchor)', n, {
        consume: (key) => memory.consume(key),
        windowOf: () => Math.floor((Date.now() - t0) / MEM_WINDOW_MS),
        stop: async () => undefined,
      }),
    );
    rows.push(await memoryRow('CrdtRateLimiter split', n, await crdt('split')));
  }
  process.stderr.write(`memory: table mode, ${MEM_TABLE_KEYS} keys\n`);
  // Unreported warm-up: the first sync compiles the storage client's write and delete paths, a
  // one-time ~2 MiB that is not per key (a second table-mode row measured in one run holds none of it).
  await memoryRow('warm-up', 2000, await crdt('table', 1000));
  rows.push(await memoryRow('CrdtRateLimiter table, sync 1 s', MEM_TABLE_KEYS, await crdt('table', 1000)));
  return rows;
}

/** Prints rows as the bench's pipe table, columns padded to their widest cell. */
function printRows<R extends object>(title: string, headers: Array<keyof R & string>, rows: R[]): void {
  const cell = (r: R, h: keyof R): string => String(r[h]);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => cell(r, h).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    [
      title,
      line(headers),
      `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
      ...rows.map((r) => line(headers.map((h) => cell(r, h)))),
      '',
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const azurite = await startAzurite();
  const rows: Row[] = [];
  let memoryResults: MemoryRow[] = [];
  try {
    if (process.env.BENCH_ONLY === 'rolling' || process.env.BENCH_ONLY === undefined) {
      // The anchor is the limit itself: admitted / limit per window, worst window.
      const rolling: string[] = [];
      for (const [label, options] of [
        ['initialMembers: 1 (the former default)', { initialMembers: 1 }],
        ['default: nothing admitted before the first membership read', {}],
      ] as const) {
        const perWindow = await rollingRestart(azurite.connectionString, options);
        const worst = Math.max(...perWindow);
        rolling.push(
          `| ${label} | ${(worst / LIMIT).toFixed(2)}× | ${perWindow.map((n) => (n / LIMIT).toFixed(2)).join(' ')} |`,
        );
      }
      process.stdout.write(
        [
          `rolling restart of ${NODES} split-mode nodes (one replaced mid-window every 2 windows, the new node takes traffic at once), limit ${LIMIT} per ${WINDOW_MS} ms, offered 4× the limit`,
          '| startup share | worst window / limit | every window / limit |',
          '|---|---|---|',
          ...rolling,
          '',
        ].join('\n'),
      );
      if (process.env.BENCH_ONLY === 'rolling') return;
    }
    if (process.env.BENCH_ONLY === 'memory') {
      memoryResults = await memoryRows(azurite.connectionString);
      printMemory(memoryResults);
      return;
    }
    for (const load of ['even', 'skewed'] as const) {
      // Anchor 1: what a cluster whose gossip failed does — each node alone with the full limit.
      {
        const nodes = Array.from(
          { length: NODES },
          () => new RateLimiterMemory({ points: LIMIT, duration: WINDOW_MS / 1000 }),
        );
        const t0 = Date.now();
        const perWindow = await drive(
          (node, key) =>
            nodes[node]!.consume(key).then(
              () => true,
              () => false,
            ),
          () => Math.floor((Date.now() - t0) / WINDOW_MS),
          load,
        );
        rows.push(summarize('RateLimiterMemory per node, full limit (anchor)', load, perWindow, 0));
      }
      // Anchor 2: one process holding the whole limit — exact, no cluster.
      {
        const single = new RateLimiterMemory({ points: LIMIT, duration: WINDOW_MS / 1000 });
        const t0 = Date.now();
        const perWindow = await drive(
          (_node, key) =>
            single.consume(key).then(
              () => true,
              () => false,
            ),
          () => Math.floor((Date.now() - t0) / WINDOW_MS),
          load,
        );
        rows.push(summarize('RateLimiterMemory, one shared instance (anchor)', load, perWindow, 0));
      }
      for (const [label, options] of [
        ['CrdtRateLimiter split', { mode: 'split' }],
        ['CrdtRateLimiter table, sync 100 ms', { mode: 'table', syncIntervalMs: 100 }],
        ['CrdtRateLimiter table, sync 500 ms', { mode: 'table', syncIntervalMs: 500 }],
      ] as const) {
        const nodes = await crdtNodes(azurite.connectionString, options, WARM_UP_MS);
        try {
          const spread = spreadOf(nodes);
          const perWindow = await drive(
            (node, key) => nodes[node]!.tryConsume(key),
            () => Math.floor(nodes[0]!.cluster.bus.serverNow() / WINDOW_MS),
            load,
          );
          const error = Math.max(...nodes.map((n) => Math.abs(n.cluster.bus.serverNow() - Date.now())));
          rows.push({
            ...summarize(label, load, perWindow, 0),
            nodeSpread: `${Math.round(spread)} ms`,
            serverTimeError: `${Math.round(error)} ms`,
          });
        } finally {
          await Promise.all(nodes.map((n) => n.stop()));
        }
      }
    }
    // Decisions per second on one node.
    const memory = new RateLimiterMemory({ points: 1e9, duration: 60 });
    const memoryRate = await throughput((k) => memory.consume(k), true);
    rows.push({
      ...summarize('RateLimiterMemory.consume (anchor)', '1 node', [LIMIT], memoryRate),
      overshoot: '',
      worstWindow: '',
    });
    for (const mode of ['split', 'table'] as const) {
      const [node, ...rest] = await crdtNodes(
        azurite.connectionString,
        { mode, limit: 1e9, windowMs: 60_000 },
        0,
      );
      const rate = await throughput((k) => node!.tryConsume(k), false);
      rows.push({
        ...summarize(`CrdtRateLimiter ${mode}.tryConsume`, '1 node', [LIMIT], rate),
        overshoot: '',
        worstWindow: '',
      });
      await Promise.all([node!, ...rest].map((n) => n.stop()));
    }
    memoryResults = await memoryRows(azurite.connectionString);
  } finally {
    await azurite.stop();
  }
  const headers: Array<keyof Row> = [
    'limiter',
    'load',
    'overshoot',
    'worstWindow',
    'decisionsPerSecond',
    'nodeSpread',
    'serverTimeError',
  ];
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => r[h].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    [
      `limit ${LIMIT} per ${WINDOW_MS} ms window, ${NODES} nodes started ${START_STAGGER_MS} ms apart, ${WARM_UP_MS / 1000} s warm-up, offered load 4× the limit, ${WINDOWS} windows per row`,
      line(headers),
      `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
      ...rows.map((r) => line(headers.map((h) => r[h]))),
      '',
    ].join('\n'),
  );
  printMemory(memoryResults);
}

function printMemory(memory: MemoryRow[]): void {
  printRows(
    `\nmemory: heapUsed after a forced GC, one node, ${MEM_WINDOW_MS} ms windows; "held" = heap − heap just before the N decisions`,
    [
      'limiter',
      'keys',
      'heapBefore',
      'heldAfterFill',
      'bytesPerKey',
      'afterWindowIdle',
      'afterNextDecision',
      'afterTwoWindows',
    ],
    memory,
  );
}

await main();
