/**
 * Membership convergence and storage cost against cluster size N, on one in-memory Azurite.
 *
 * For each N (10, 100, 1000):
 * - join convergence: every member starts at once; the time until every observer's view holds all
 *   N members. Anchor, measured in the same run: one heartbeat interval + one list round trip.
 * - death convergence: one member stops heartbeating without deleting its row; the time from its
 *   last successful heartbeat until no observer's view holds it. Anchor: memberTtl + one heartbeat.
 * - storage requests per node-hour: the real Membership instances' HTTP requests, counted at a
 *   proxy over a steady window, per node; flat in N while the partition fits one 1000-row page.
 *
 * What is real and what is simulated is printed with the figures:
 * - N = 10 and 100: N real `Membership` instances in this process (one storage connection through
 *   a counting proxy); the member that dies is real too, its own proxy starts refusing connections.
 * - N = 1000: 5 real `Membership` observers; the other 995 rows are written by a simulator that
 *   upserts them (same row shape) in entity-group batches of 100 every heartbeat, uncounted; the
 *   member that dies is a simulated row the simulator stops refreshing.
 *
 * Memory (N = 10 and 100, where every member is a real instance): `heapUsed` after a forced GC
 * once the views converged and again after the counting window, against the process's heap just
 * before the members are created (the anchor); per instance = the difference / N. Needs
 * `node --expose-gc` (the npm script passes it).
 *
 * Timings are shortened (heartbeat 2 s, memberTtl 6 s) to keep the run short; the per-node-hour
 * figure is also given scaled to the default 5 s heartbeat.
 *
 * Run: npm run bench:membership  (node --expose-gc --import tsx bench/membership.ts). About 2 minutes.
 */
import { performance } from 'node:perf_hooks';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { azuriteConnectionString, startAzurite, type AzuriteInstance } from '../src/dev/index.js';
import { Membership, type MembershipView } from '../src/membership/index.js';
import { connectStorage, type StorageConnection } from '../src/storage/index.js';
import { memberPartition, partitionEquals } from '../src/table-layout/index.js';
import { proxyStorage, type StorageProxies } from './support/counting-proxy.js';
import { bytes, gcHeapUsed, mib } from './support/heap.js';
import { runBench } from './support/run-bench.js';
import {
  count,
  machineLine,
  median,
  millis,
  note,
  printTable,
  progress,
  seconds,
  sleep,
} from './support/report.js';

const SIZES = (process.env.BENCH_SIZES ?? '10,100,1000').split(',').map(Number);
const HEARTBEAT_MS = 2000;
const MEMBER_TTL_MS = 6000;
const DEFAULT_HEARTBEAT_MS = 5000;
const REAL_UP_TO = 100;
const OBSERVERS_WHEN_SIMULATED = 5;
const WINDOW_HEARTBEATS = 8;
const TABLE_PREFIX = 'benchmem';
const TABLE = `${TABLE_PREFIX}bus`;
const WATCHDOG_MS = 300_000;

let azurite: AzuriteInstance | undefined;
const toClose: Array<() => Promise<void>> = [];

async function cleanup(): Promise<void> {
  for (const close of toClose.splice(0).reverse()) await close().catch(() => undefined);
  await azurite?.stop();
}

/** Writes simulated members' rows: the same shape Membership writes, batched 100 per request. */
class RowSimulator {
  readonly #ids: string[];
  readonly #table: TableClient;
  readonly #partition: string;
  readonly #stopped = new Set<string>();
  #running = true;
  #loop: Promise<void> | undefined;
  /** Set when a write failed: the bench stops rather than report figures for a broken simulation. */
  failure: unknown;
  /** Wall time (performance.now) each row's last successful write was answered. */
  readonly lastWritten = new Map<string, number>();
  /** When the first round had written every row. */
  firstRoundDoneAt: number | undefined;

  constructor(storage: StorageConnection, cluster: string, ids: string[]) {
    this.#ids = ids;
    this.#table = storage.tableClient(TABLE);
    this.#partition = memberPartition(cluster);
  }

  start(): void {
    this.#loop = (async () => {
      const startedAt = new Date().toISOString();
      while (this.#running) {
        const roundStart = performance.now();
        const live = this.#ids.filter((id) => !this.#stopped.has(id));
        for (let i = 0; i < live.length; i += 100) {
          const chunk = live.slice(i, i + 100);
          const actions: TransactionAction[] = chunk.map((nodeId) => [
            'upsert',
            {
              partitionKey: this.#partition,
              rowKey: nodeId,
              nodeId,
              metadata: JSON.stringify({ address: `10.0.${i / 100}.${chunk.indexOf(nodeId)}:8080` }),
              startedAt,
              incarnation: 0,
            },
            'Replace',
          ]);
          await this.#table.submitTransaction(actions);
          const at = performance.now();
          for (const id of chunk) this.lastWritten.set(id, at);
        }
        this.firstRoundDoneAt ??= performance.now();
        await sleep(Math.max(0, roundStart + HEARTBEAT_MS - performance.now()));
      }
    })().catch((error: unknown) => {
      this.failure = error;
    });
  }

  /** The row stops being refreshed (the node died; its row stays). */
  kill(id: string): void {
    this.#stopped.add(id);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

interface Observer {
  membership: Membership;
  joinedAt: number | undefined;
  victimGoneAt: number | undefined;
}

interface SizeResult {
  n: number;
  real: number;
  simulated: number;
  observers: number;
  listRttMs: number;
  joinMs: number;
  joinMedianMs: number;
  /** From start until the last member's first heartbeat (or the simulator's first round) was stored. */
  allWrittenMs: number;
  deathMs: number;
  deathMedianMs: number;
  errors: number;
  requestsPerNodePerHeartbeat: number;
  putsPerNodePerHeartbeat: number;
  pagesPerList: number;
  perNodeHourBench: number;
  /** Real-only sizes: heap before the members were created, after join, after the counting window. */
  heap?: { before: number; joined: number; steady: number; steadyAfterMs: number };
}

async function measureList(storage: StorageConnection, cluster: string): Promise<number> {
  const table = storage.tableClient(TABLE);
  const samples: number[] = [];
  for (let i = 0; i < 6; i++) {
    const started = performance.now();
    const pages = table
      .listEntities({ queryOptions: { filter: partitionEquals(memberPartition(cluster)) } })
      .byPage({ maxPageSize: 1000 });
    for await (const page of pages) void page;
    if (i > 0) samples.push(performance.now() - started);
  }
  return median(samples);
}

async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
  simulator?: RowSimulator,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (simulator?.failure) throw simulator.failure;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

async function measureSize(instance: AzuriteInstance, n: number): Promise<SizeResult> {
  const cluster = `bench-members-${n}`;
  const simulatedCount = n <= REAL_UP_TO ? 0 : n - OBSERVERS_WHEN_SIMULATED;
  const realCount = n - simulatedCount;
  const direct = connectStorage({ connectionString: instance.connectionString });
  const counted: StorageProxies = await proxyStorage(instance, azuriteConnectionString);
  toClose.push(() => counted.close());
  const countedStorage = connectStorage({ connectionString: counted.connectionString });
  // The member that dies, when real, talks through its own proxy so its storage path can be cut.
  const victimProxies: StorageProxies | undefined =
    simulatedCount === 0 ? await proxyStorage(instance, azuriteConnectionString) : undefined;
  if (victimProxies) toClose.push(() => victimProxies.close());
  const victimId = simulatedCount === 0 ? `member-${String(n - 1).padStart(4, '0')}` : 'simulated-0000';

  // The anchor: this process's heap before any member exists (proxies and connections included).
  const heapBefore = simulatedCount === 0 ? await gcHeapUsed() : undefined;
  const members: Membership[] = [];
  const observers: Observer[] = [];
  let cutAt: number | undefined;
  let errors = 0;
  const firstHeartbeats: number[] = [];
  for (let i = 0; i < realCount; i++) {
    const nodeId = `member-${String(i).padStart(4, '0')}`;
    const isVictim = nodeId === victimId;
    const membership = new Membership({
      storage: isVictim
        ? connectStorage({ connectionString: victimProxies!.connectionString })
        : countedStorage,
      cluster,
      nodeId,
      tablePrefix: TABLE_PREFIX,
      metadata: { address: `10.1.0.${i}:8080` },
      heartbeatIntervalMs: HEARTBEAT_MS,
      memberTtlMs: MEMBER_TTL_MS,
    });
    // Errors are expected from the victim once its storage is cut; others' are counted and printed.
    membership.on('error', () => {
      if (!isVictim) errors++;
    });
    // A member's first view follows its first heartbeat: its row is in the table from then on.
    membership.once('view', () => firstHeartbeats.push(performance.now()));
    members.push(membership);
    if (isVictim) continue;
    const observer: Observer = { membership, joinedAt: undefined, victimGoneAt: undefined };
    membership.on('view', (view: MembershipView) => {
      const now = performance.now();
      if (observer.joinedAt === undefined && view.members.length === n) observer.joinedAt = now;
      if (
        cutAt !== undefined &&
        observer.victimGoneAt === undefined &&
        !view.members.some((m) => m.nodeId === victimId)
      ) {
        observer.victimGoneAt = now;
      }
    });
    observers.push(observer);
  }
  const simulator =
    simulatedCount > 0
      ? new RowSimulator(
          direct,
          cluster,
          Array.from({ length: simulatedCount }, (_, i) => `simulated-${String(i).padStart(4, '0')}`),
        )
      : undefined;
  toClose.push(async () => {
    await simulator?.stop();
    await Promise.allSettled(members.map((m) => m.stop()));
  });

  progress(`N = ${n}: ${realCount} real members, ${simulatedCount} simulated rows; joining`);
  const startedAt = performance.now();
  simulator?.start();
  await Promise.all(members.map((m) => m.start()));
  await waitUntil(
    () => observers.every((o) => o.joinedAt !== undefined),
    60_000,
    `all views to hold ${n} members`,
    simulator,
  );
  const joinTimes = observers.map((o) => o.joinedAt! - startedAt);
  const allWrittenMs = Math.max(...firstHeartbeats, simulator?.firstRoundDoneAt ?? 0) - startedAt;
  // The counting proxy logs every request: clear its log so the reading is the members' heap.
  counted.reset();
  const heapJoined = heapBefore !== undefined ? await gcHeapUsed() : undefined;

  progress(`N = ${n}: counting requests over ${WINDOW_HEARTBEATS} heartbeats`);
  // Members heartbeat at a fixed period. Count over whole heartbeats starting half a period after
  // an observer's list, so members that started together do not sit on the window's edges.
  await sleep(HEARTBEAT_MS / 2);
  await new Promise<void>((resolve) => observers[0]!.membership.once('view', () => resolve()));
  await sleep(HEARTBEAT_MS / 2);
  counted.reset();
  victimProxies?.reset();
  const windowStart = performance.now();
  await sleep(WINDOW_HEARTBEATS * HEARTBEAT_MS);
  const windowMs = performance.now() - windowStart;
  // Counted in a closure so the copied request log is garbage before the heap is read below.
  const { requestCount, puts, pages } = (() => {
    const requests = [...counted.table.requests, ...(victimProxies?.table.requests ?? [])];
    return {
      requestCount: requests.length,
      puts: requests.filter((r) => r.method === 'PUT').length,
      pages: requests.filter((r) => r.method === 'GET').length,
    };
  })();
  const heartbeats = windowMs / HEARTBEAT_MS;
  counted.reset();
  const heapSteady = heapBefore !== undefined ? await gcHeapUsed() : undefined;
  const steadyAfterMs = performance.now() - startedAt;
  const listRttMs = await measureList(direct, cluster);

  progress(`N = ${n}: ${victimId} stops heartbeating`);
  let lastHeartbeat: () => number;
  if (victimProxies) {
    // performance.now() and Date.now() differ by a constant here; convert the proxy's wall times.
    const offset = Date.now() - performance.now();
    victimProxies.table.setDropping(true);
    victimProxies.blob.setDropping(true);
    cutAt = performance.now();
    // Read after the wait below: a heartbeat in flight at the cut may still succeed.
    lastHeartbeat = () => {
      const lastPut = victimProxies.table.requests
        .filter((r) => r.method === 'PUT' && r.status !== undefined && r.status < 300)
        .at(-1);
      return (lastPut?.answeredAt ?? Number.NaN) - offset;
    };
  } else {
    simulator!.kill(victimId);
    cutAt = performance.now();
    lastHeartbeat = () => simulator!.lastWritten.get(victimId) ?? Number.NaN;
  }
  await waitUntil(
    () => observers.every((o) => o.victimGoneAt !== undefined),
    MEMBER_TTL_MS + HEARTBEAT_MS * 6,
    `every view to drop ${victimId}`,
    simulator,
  );
  const goneTimes = observers.map((o) => o.victimGoneAt!);
  const result: SizeResult = {
    n,
    real: realCount,
    simulated: simulatedCount,
    observers: observers.length,
    listRttMs,
    joinMs: Math.max(...joinTimes),
    joinMedianMs: median(joinTimes),
    allWrittenMs,
    deathMs: Math.max(...goneTimes) - lastHeartbeat(),
    deathMedianMs: median(goneTimes) - lastHeartbeat(),
    errors,
    requestsPerNodePerHeartbeat: requestCount / realCount / heartbeats,
    putsPerNodePerHeartbeat: puts / realCount / heartbeats,
    pagesPerList: pages / Math.max(1, puts),
    perNodeHourBench: (requestCount / realCount) * (3_600_000 / windowMs),
    ...(heapBefore !== undefined
      ? { heap: { before: heapBefore, joined: heapJoined!, steady: heapSteady!, steadyAfterMs } }
      : {}),
  };
  await simulator?.stop();
  await Promise.allSettled(members.map((m) => m.stop()));
  toClose.splice(0);
  await counted.close();
  await victimProxies?.close();
  return result;
}

/**
 * Unreported: a few members heartbeat and list twice, so code compiled on first use (the storage
 * client's paths, Membership's own) is in the heap before the first size's "before" reading and is
 * not charged to that size's instances.
 */
async function warmUp(instance: AzuriteInstance): Promise<void> {
  progress('warm-up: 5 members, two heartbeats');
  const storage = connectStorage({ connectionString: instance.connectionString });
  const members = Array.from(
    { length: 5 },
    (_, i) =>
      new Membership({
        storage,
        cluster: 'bench-members-warm-up',
        nodeId: `warm-up-${i}`,
        tablePrefix: TABLE_PREFIX,
        metadata: { address: `10.2.0.${i}:8080` },
        heartbeatIntervalMs: HEARTBEAT_MS,
        memberTtlMs: MEMBER_TTL_MS,
      }),
  );
  toClose.push(async () => void (await Promise.allSettled(members.map((m) => m.stop()))));
  await Promise.all(members.map((m) => m.start()));
  await sleep(HEARTBEAT_MS * 2 + 200);
  await Promise.allSettled(members.map((m) => m.stop()));
  toClose.splice(0);
}

async function main(): Promise<void> {
  progress('starting Azurite');
  azurite = await startAzurite();
  await connectStorage({ connectionString: azurite.connectionString }).createTableIfNotExists(TABLE);
  await warmUp(azurite);
  const results: SizeResult[] = [];
  for (const n of SIZES) results.push(await measureSize(azurite, n));

  process.stdout.write(
    `gossipless bench/membership — Membership on one in-memory Azurite, heartbeat ${HEARTBEAT_MS / 1000} s, ` +
      `memberTtl ${MEMBER_TTL_MS / 1000} s (shortened from 5 s / 15 s to keep the run short)\n${await machineLine()}\n`,
  );
  printTable(
    'What runs',
    ['N', 'real Membership instances', 'simulated rows', 'observers (views measured)', 'member that dies'],
    results.map((r) => [
      String(r.n),
      String(r.real),
      String(r.simulated),
      String(r.observers),
      r.simulated > 0 ? 'a simulated row, no longer refreshed' : 'a real member, its storage cut',
    ]),
  );
  printTable(
    'Convergence',
    [
      'N',
      'all rows written',
      'join: median view',
      'join: all views',
      'anchor: rows written + heartbeat + list RTT',
      'death: median view',
      'death: all views',
      'anchor: TTL + 1 s + heartbeat',
    ],
    results.map((r) => [
      String(r.n),
      seconds(r.allWrittenMs),
      seconds(r.joinMedianMs),
      seconds(r.joinMs),
      seconds(r.allWrittenMs + HEARTBEAT_MS + r.listRttMs),
      seconds(r.deathMedianMs),
      seconds(r.deathMs),
      seconds(MEMBER_TTL_MS + 1000 + HEARTBEAT_MS),
    ]),
  );
  note('join: from every member starting at once to every observer\'s view holding all N members; "all rows');
  note(
    'written" is when the slowest member\'s first heartbeat was stored (start-up contention on one Azurite).',
  );
  note(
    "death: from the dead member's last successful heartbeat to no observer's view holding it. The bound is",
  );
  note(
    "memberTtl, + the error of the liveness clock (the server-time estimate, kept within the list response's",
  );
  note(
    "1 s Date header: at most 1 s, far less once narrowed), + the observers' next list, at most one heartbeat later.",
  );
  note(
    `storage errors reported by live members (each retried at the next heartbeat): ${results
      .map((r) => `N = ${r.n}: ${r.errors}`)
      .join(', ')}`,
  );
  printTable(
    'Storage requests per node (real Membership instances only, counted at a proxy)',
    [
      'N',
      'list RTT',
      'requests/heartbeat',
      'upserts/heartbeat',
      'pages/list',
      `per node-hour @ ${HEARTBEAT_MS / 1000} s`,
      `per node-hour @ ${DEFAULT_HEARTBEAT_MS / 1000} s (default)`,
    ],
    results.map((r) => [
      String(r.n),
      millis(r.listRttMs),
      r.requestsPerNodePerHeartbeat.toFixed(2),
      r.putsPerNodePerHeartbeat.toFixed(2),
      r.pagesPerList.toFixed(2),
      count(r.perNodeHourBench),
      count(r.perNodeHourBench * (HEARTBEAT_MS / DEFAULT_HEARTBEAT_MS)),
    ]),
  );
  note(
    "each heartbeat is one upsert of the node's own row and one list of the partition (≤ 1000 rows a page):",
  );
  note(
    'flat in N while the partition fits one page; the default-heartbeat column scales the measurement by 2/5.',
  );
  const withHeap = results.filter((r) => r.heap);
  if (withHeap.length > 0) {
    printTable(
      'Heap of real Membership instances (heapUsed after a forced GC)',
      [
        'N',
        'heap before they start (anchor)',
        'after join',
        'per instance',
        'steady (after the counting window)',
        'per instance',
      ],
      withHeap.map((r) => {
        const h = r.heap!;
        const steady = (h.steady - h.before) / r.n;
        return [
          String(r.n),
          mib(h.before),
          `${mib(h.joined - h.before, true)} (${(h.joined / h.before).toFixed(2)}×)`,
          bytes((h.joined - h.before) / r.n),
          `${mib(h.steady - h.before, true)} (${(h.steady / h.before).toFixed(2)}×) at ${seconds(h.steadyAfterMs)}`,
          bytes(steady),
        ];
      }),
    );
    note(
      'before = the process before any member is created (proxies, connections and a warm-up of 5 members included);',
    );
    note(
      "each instance holds its own view of all N members; the counting proxy's request log is cleared before",
    );
    note('each reading. N = 1000 (5 real instances + simulated rows) is not measured.');
  }
}

await runBench('bench/membership', WATCHDOG_MS, main, cleanup);
