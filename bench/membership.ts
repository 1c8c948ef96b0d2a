/**
 * Membership at N = 10, 100 and 1,000 nodes on one table, at the default timings (heartbeat 15 s,
 * memberTtl 45 s), against Azure's scalability targets: every request goes through the throttling
 * emulator (bench/support/throttling-proxy.ts), which answers 503 ServerBusy beyond 2,000 entities/s
 * per partition, 20,000 entities/s per table or 20,000 requests/s per account, as Azure does.
 *
 * For each N:
 * - N real `Membership` instances run in this process, sharing one storage connection (through the
 *   emulator): each does exactly what a node's Membership does — it is one. Member 0 is told it
 *   leads (`isLeader: () => true`, as `Cluster` wires it from the lease), so it reads the member
 *   partition and writes the digest; the others read the digest. What is not a node's: they share
 *   one process, event loop and HTTP agent, and one Azurite serves them all.
 * - join: members start spread evenly over one heartbeat (a rolling deployment); the time from the
 *   last start until every observer's view holds all N.
 * - steady window (4 heartbeats): requests and entities counted at the emulator — entities/s per
 *   partition (mean and the busiest 1 s), requests/s, throttled requests (must be 0) — and each
 *   member's own request counters, as transactions per node-hour for the leader and the followers.
 * - death: one follower's storage path is cut (its own proxy, in front of the emulator, starts
 *   refusing connections; its row stays). From its last successful heartbeat until no observer's
 *   view holds it; bound TTL + heartbeat + 1 s = 61 s.
 * - anchor, same run: N = 1,000 with `useDigest: false` (every node reads the whole partition
 *   every heartbeat, as before issue #11) for two heartbeats: how much the emulator throttles it.
 *
 * Run: npm run bench:membership  (node --expose-gc --import tsx bench/membership.ts). About 10 minutes.
 * BENCH_SIZES=10,100 and BENCH_ANCHOR=0 shorten it; BENCH_HEARTBEAT_MS and BENCH_TTL_MS set other timings.
 */
import { performance } from 'node:perf_hooks';
import { azuriteConnectionString, startAzurite, type AzuriteInstance } from '../src/dev/index.js';
import { MEMBERSHIP_DEFAULTS, Membership, type MembershipView } from '../src/membership/index.js';
import { connectStorage, type StorageConnection } from '../src/storage/index.js';
import { memberDigestPartition, memberPartition, MEMBER_DIGEST_ROW_KEY } from '../src/table-layout/index.js';
import { proxyStorage, type StorageProxies } from './support/counting-proxy.js';
import { gcHeapUsed, mib } from './support/heap.js';
import { runBench } from './support/run-bench.js';
import { count, machineLine, median, note, printTable, progress, seconds, sleep } from './support/report.js';
import {
  AZURE_TARGETS,
  throttleStorage,
  type ThrottledRequest,
  type ThrottledStorage,
} from './support/throttling-proxy.js';

const SIZES = (process.env.BENCH_SIZES ?? '10,100,1000').split(',').map(Number);
const WITH_ANCHOR = process.env.BENCH_ANCHOR !== '0';
// BENCH_HEARTBEAT_MS / BENCH_TTL_MS measure other timings the same way, e.g. node-discover's
// defaults (hello 1 s, TTL max(nodeTimeout 2 s, 3 hellos) = 3 s): 1000 / 3000.
// BENCH_TIME_SCALE=k runs in slow motion where this machine cannot serve the real rate: heartbeat
// and TTL × k, the emulator's targets ÷ k and its windows × k (a bucket holds what it holds at real
// speed), so every rate and burst stands in the same ratio to its limit as at the real timings.
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 1);
const HEARTBEAT_MS =
  Number(process.env.BENCH_HEARTBEAT_MS ?? MEMBERSHIP_DEFAULTS.heartbeatIntervalMs) * TIME_SCALE;
const MEMBER_TTL_MS = Number(process.env.BENCH_TTL_MS ?? MEMBERSHIP_DEFAULTS.memberTtlMs) * TIME_SCALE;
const TARGETS = {
  partitionEntitiesPerSecond: AZURE_TARGETS.partitionEntitiesPerSecond / TIME_SCALE,
  tableEntitiesPerSecond: AZURE_TARGETS.tableEntitiesPerSecond / TIME_SCALE,
  accountRequestsPerSecond: AZURE_TARGETS.accountRequestsPerSecond / TIME_SCALE,
};
const TIMINGS = { heartbeatIntervalMs: HEARTBEAT_MS, memberTtlMs: MEMBER_TTL_MS };
const WINDOW_MS = 4 * HEARTBEAT_MS;
const DEATH_BOUND_MS = MEMBER_TTL_MS + HEARTBEAT_MS + 1000;
const TABLE_PREFIX = 'benchmem';
const TABLE = `${TABLE_PREFIX}bus`;
const WATCHDOG_MS = 1_500_000;
const HOUR_MS = 3_600_000;

let azurite: AzuriteInstance | undefined;
const toClose: Array<() => Promise<void>> = [];

/**
 * Runs (last first) and forgets the closers registered since `mark` (`toClose.length` when a
 * phase began): a phase closes what it opened and nothing the run opened before it.
 */
async function closeFrom(mark: number): Promise<void> {
  for (const close of toClose.splice(mark).reverse()) await close().catch(() => undefined);
}

async function cleanup(): Promise<void> {
  await closeFrom(0);
  await azurite?.stop();
}

/** Load as the emulator saw it over a window. */
interface Traffic {
  requests: number;
  requestsPerSecond: number;
  busiestSecondRequests: number;
  byKind: Record<string, number>;
  /** Per partition: entities/s over the window and in its busiest 1 s. */
  partitions: Array<{ partition: string; perSecond: number; busiestSecond: number }>;
  throttled: number;
  throttledBy: string;
}

function traffic(
  requests: readonly ThrottledRequest[],
  windowMs: number,
  throttled: ThrottledStorage,
): Traffic {
  const perSecond = new Map<number, number>();
  const byKind: Record<string, number> = {};
  const partitions = new Map<string, Map<number, number>>();
  for (const r of requests) {
    const second = Math.floor(r.sentAt / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
    if (r.partition === undefined || r.entities === 0) continue;
    let seconds = partitions.get(r.partition);
    if (!seconds) partitions.set(r.partition, (seconds = new Map()));
    seconds.set(second, (seconds.get(second) ?? 0) + r.entities);
  }
  const { partition, table, account } = throttled.limits.throttled;
  return {
    requests: requests.length,
    requestsPerSecond: (requests.length / windowMs) * 1000,
    busiestSecondRequests: Math.max(0, ...perSecond.values()),
    byKind,
    partitions: [...partitions].map(([key, seconds]) => ({
      partition: key,
      perSecond: ([...seconds.values()].reduce((a, b) => a + b, 0) / windowMs) * 1000,
      busiestSecond: Math.max(...seconds.values()),
    })),
    throttled: partition + table + account,
    throttledBy: `partition ${partition}, table ${table}, account ${account}; by kind ${JSON.stringify(throttled.limits.throttledByKind)}`,
  };
}

interface SizeResult {
  n: number;
  joinMs: number;
  joinMedianMs: number;
  startup: Traffic;
  steady: Traffic;
  death: Traffic;
  deathMs: number;
  deathMedianMs: number;
  /** Transactions per node-hour from the members' own counters over the steady window. */
  leaderPerHour: number;
  followerPerHour: number;
  digestBytes: number;
  errors: number;
  heapPerInstance?: number;
}

type Counters = Membership['stats'];
function transactions(s: Counters): number {
  return s.heartbeats + s.lists + s.digestReads + s.digestWrites + s.digestClaims + s.metadataReads;
}

async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
  report?: () => string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let nextReport = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${report ? `: ${report()}` : ''}`);
    }
    if (report && performance.now() > nextReport) {
      progress(`  waiting for ${what}: ${report()}`);
      nextReport += 10_000;
    }
    await sleep(100);
  }
}

async function digestSize(storage: StorageConnection, cluster: string): Promise<number> {
  const row = await storage
    .tableClient(TABLE)
    .getEntity<Record<string, unknown>>(memberDigestPartition(cluster), MEMBER_DIGEST_ROW_KEY);
  let chars = 0;
  for (const [key, value] of Object.entries(row))
    if (typeof value === 'string') chars += key.length + value.length;
  // Azure stores strings as UTF-16; the digest's JSON is ASCII.
  return chars * 2;
}

async function measureSize(
  instance: AzuriteInstance,
  throttled: ThrottledStorage,
  n: number,
): Promise<SizeResult> {
  const cluster = `bench-members-${n}`;
  const mark = toClose.length;
  const shared = connectStorage({ connectionString: throttled.connectionString });
  // The member that dies talks through its own proxy, in front of the emulator, so its path can be cut.
  const victimProxies: StorageProxies = await proxyStorage(
    { blobPort: throttled.blob.port, tablePort: throttled.table.port },
    azuriteConnectionString,
  );
  toClose.push(() => victimProxies.close());
  const victimId = `member-${String(n - 1).padStart(4, '0')}`;
  const heapBefore = n <= 100 ? await gcHeapUsed() : undefined;
  const members: Membership[] = [];
  const joinedAt = new Map<string, number>();
  const goneAt = new Map<string, number>();
  let cut = false;
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const nodeId = `member-${String(i).padStart(4, '0')}`;
    const isVictim = nodeId === victimId;
    const membership = new Membership({
      storage: isVictim ? connectStorage({ connectionString: victimProxies.connectionString }) : shared,
      cluster,
      nodeId,
      tablePrefix: TABLE_PREFIX,
      metadata: { address: `10.1.${i >> 8}.${i & 255}:8080` },
      ...TIMINGS,
      ...(i === 0 ? { isLeader: () => true } : {}),
    });
    membership.on('error', () => {
      if (!isVictim) errors++;
    });
    members.push(membership);
    if (isVictim) continue;
    membership.on('view', (view: MembershipView) => {
      const now = performance.now();
      if (!joinedAt.has(nodeId) && view.members.length === n) joinedAt.set(nodeId, now);
      if (cut && !goneAt.has(nodeId) && !view.members.some((m) => m.nodeId === victimId))
        goneAt.set(nodeId, now);
    });
  }
  toClose.push(async () => void (await Promise.allSettled(members.map((m) => m.stop()))));
  const observers = n - 1;

  progress(`N = ${n}: starting ${n} members over one heartbeat`);
  throttled.reset();
  const firstStartAt = performance.now();
  await startSpread(members);
  const startedAt = performance.now();
  const errorsDuring: Record<string, number> = {};
  let lastError = '';
  for (const m of members)
    m.on('error', (e) => {
      errorsDuring[e.during] = (errorsDuring[e.during] ?? 0) + 1;
      lastError = e.error.message.slice(0, 200);
    });
  const state = (): string => {
    const sizes = members.map((m) => m.members().length).sort((a, b) => a - b);
    const leader = members[0]!.stats;
    return (
      `${joinedAt.size}/${observers} views complete; view sizes min ${sizes[0]} median ${sizes[sizes.length >> 1]}; ` +
      `leader lists ${leader.lists} digest writes ${leader.digestWrites} view ${members[0]!.members().length}; ` +
      `members with no heartbeat yet ${members.filter((m) => m.stats.heartbeats === 0).length}, ` +
      `no digest read yet ${members.filter((m) => m.stats.digestReads === 0).length}, ` +
      `heartbeats ${members.reduce((a, m) => a + m.stats.heartbeats, 0)}; ` +
      `throttled ${JSON.stringify(throttled.limits.throttled)}; errors ${JSON.stringify(errorsDuring)} (last: ${lastError}); ` +
      `requests ${throttled.table.requests.length}`
    );
  };
  await waitUntil(
    () => joinedAt.size === observers,
    4 * HEARTBEAT_MS + 60_000,
    `all views to hold ${n} members`,
    state,
  );
  const joinTimes = [...joinedAt.values()].map((t) => t - startedAt);
  const startup = traffic(throttled.table.requests, performance.now() - firstStartAt, throttled);
  const heapJoined = heapBefore !== undefined ? await gcHeapUsed() : undefined;

  progress(`N = ${n}: counting over ${WINDOW_MS / 1000} s`);
  throttled.reset();
  victimProxies.reset();
  const before = members.map((m) => transactions(m.stats));
  const windowStart = performance.now();
  await sleep(WINDOW_MS);
  const windowMs = performance.now() - windowStart;
  const steady = traffic(throttled.table.requests, windowMs, throttled);
  const perHour = members.map((m, i) => ((transactions(m.stats) - before[i]!) / windowMs) * HOUR_MS);
  const digestBytes = await digestSize(
    connectStorage({ connectionString: instance.connectionString }),
    cluster,
  );

  progress(`N = ${n}: ${victimId} stops heartbeating`);
  throttled.reset();
  const offset = Date.now() - performance.now();
  victimProxies.table.setDropping(true);
  victimProxies.blob.setDropping(true);
  cut = true;
  const deathStart = performance.now();
  await waitUntil(
    () => goneAt.size === observers,
    DEATH_BOUND_MS + 3 * HEARTBEAT_MS,
    `every view to drop ${victimId}`,
  );
  const death = traffic(throttled.table.requests, performance.now() - deathStart, throttled);
  const lastPut = victimProxies.table.requests
    .filter((r) => r.method === 'PUT' && r.status !== undefined && r.status < 300)
    .at(-1);
  // No heartbeat in the window before the cut would mean the victim was already failing: report it.
  const lastHeartbeat = (lastPut?.answeredAt ?? Number.NaN) - offset;
  const goneTimes = [...goneAt.values()];
  const followers = perHour.filter((_, i) => i !== 0 && members[i]!.nodeId !== victimId);
  const result: SizeResult = {
    n,
    joinMs: Math.max(...joinTimes),
    joinMedianMs: median(joinTimes),
    startup,
    steady,
    death,
    deathMs: Math.max(...goneTimes) - lastHeartbeat,
    deathMedianMs: median(goneTimes) - lastHeartbeat,
    leaderPerHour: perHour[0]!,
    followerPerHour: followers.reduce((a, b) => a + b, 0) / followers.length,
    digestBytes,
    errors,
    ...(heapBefore !== undefined ? { heapPerInstance: (heapJoined! - heapBefore) / n } : {}),
  };
  progress(`N = ${n}: stopping`);
  await closeFrom(mark);
  return result;
}

/**
 * Starts the members spread evenly over one heartbeat interval, as a rolling deployment would.
 * Started in the same instant, 1,000 members' first calls (create table, upsert, digest read, claim)
 * queue behind one Azurite on this shared machine past their 5 s call deadline; Azure would answer
 * them (the emulator still counts them against its targets).
 */
async function startSpread(members: Membership[]): Promise<void> {
  const begin = performance.now();
  for (let i = 0; i < members.length; i++) {
    const at = begin + (i * HEARTBEAT_MS) / members.length;
    if (at > performance.now()) await sleep(at - performance.now());
    void members[i]!.start();
  }
}

/** The pre-#11 design (every node lists the partition every heartbeat) at N, under the same emulator. */
async function measureAnchor(
  throttled: ThrottledStorage,
  n: number,
): Promise<Traffic & { n: number; failedReads: number }> {
  const cluster = `bench-members-anchor-${n}`;
  const mark = toClose.length;
  const shared = connectStorage({ connectionString: throttled.connectionString });
  let failedReads = 0;
  const members = Array.from({ length: n }, (_, i) => {
    const m = new Membership({
      storage: shared,
      cluster,
      nodeId: `member-${String(i).padStart(4, '0')}`,
      tablePrefix: TABLE_PREFIX,
      metadata: { address: `10.2.${i >> 8}.${i & 255}:8080` },
      ...TIMINGS,
      useDigest: false,
    });
    m.on('error', (e) => {
      if (e.during === 'list') failedReads++;
    });
    return m;
  });
  toClose.push(async () => void (await Promise.allSettled(members.map((m) => m.stop()))));
  progress(
    `anchor: N = ${n} with useDigest: false, started over one heartbeat, then ${(2 * HEARTBEAT_MS) / 1000} s counted`,
  );
  await startSpread(members);
  throttled.reset();
  failedReads = 0;
  const start = performance.now();
  await sleep(2 * HEARTBEAT_MS);
  const result = {
    n,
    ...traffic(throttled.table.requests, performance.now() - start, throttled),
    failedReads,
  };
  await closeFrom(mark);
  return result;
}

function partitionCells(t: Traffic, cluster: string): string[] {
  const find = (p: string) => t.partitions.find((x) => x.partition === p);
  const members = find(memberPartition(cluster));
  const digest = find(memberDigestPartition(cluster));
  return [
    members ? `${count(members.perSecond)} (${count(members.busiestSecond)})` : '0',
    digest ? `${count(digest.perSecond)} (${count(digest.busiestSecond)})` : '0',
  ];
}

async function main(): Promise<void> {
  progress('starting Azurite and the throttling emulator');
  azurite = await startAzurite();
  await connectStorage({ connectionString: azurite.connectionString }).createTableIfNotExists(TABLE);
  const throttled = await throttleStorage(azurite, azuriteConnectionString, TARGETS, TIME_SCALE);
  toClose.push(() => throttled.close());
  const results: SizeResult[] = [];
  for (const n of SIZES) results.push(await measureSize(azurite, throttled, n));
  const anchor = WITH_ANCHOR ? await measureAnchor(throttled, 1000) : undefined;

  process.stdout.write(
    `gossipless bench/membership — real Membership instances at ${process.env.BENCH_HEARTBEAT_MS || process.env.BENCH_TTL_MS ? 'BENCH_HEARTBEAT_MS / BENCH_TTL_MS' : 'the defaults'} (heartbeat ${HEARTBEAT_MS / 1000} s, ` +
      `memberTtl ${MEMBER_TTL_MS / 1000} s) on one in-memory Azurite behind the throttling emulator ` +
      `(${count(TARGETS.partitionEntitiesPerSecond)} entities/s per partition, ${count(TARGETS.tableEntitiesPerSecond)} per table, ` +
      `${count(TARGETS.accountRequestsPerSecond)} requests/s per account)` +
      (TIME_SCALE !== 1
        ? `\nslow motion ×${TIME_SCALE}: heartbeat and TTL × ${TIME_SCALE}, targets ÷ ${TIME_SCALE}, windows × ${TIME_SCALE} (each rate and burst keeps its ratio to its limit); tx/node-hour are given at real speed (× ${TIME_SCALE})`
        : '') +
      `\n${await machineLine()}\n`,
  );
  printTable(
    `Steady state over ${WINDOW_MS / 1000} s (counted at the emulator)`,
    [
      'N',
      'throttled',
      'requests/s (busiest 1 s)',
      'member partition entities/s (busiest 1 s)',
      'digest partition entities/s (busiest 1 s)',
      'digest size',
      'leader tx/node-hour',
      'follower tx/node-hour',
    ],
    results.map((r) => [
      String(r.n),
      String(r.steady.throttled),
      `${r.steady.requestsPerSecond.toFixed(1)} (${r.steady.busiestSecondRequests})`,
      ...partitionCells(r.steady, `bench-members-${r.n}`),
      `${count(r.digestBytes / 1024)} KiB`,
      count(r.leaderPerHour * TIME_SCALE),
      count(r.followerPerHour * TIME_SCALE),
    ]),
  );
  note(
    `targets: ${count(TARGETS.partitionEntitiesPerSecond)} entities/s per partition, ${count(TARGETS.accountRequestsPerSecond)} requests/s per account.`,
  );
  note('a follower: 1 upsert + 1 digest point read per heartbeat; the leader: 1 upsert + 1 partition list');
  note("(1 request per 1,000 rows) + 1 digest upsert. Tx/node-hour from each member's own counters.");
  for (const r of results)
    note(
      `N = ${r.n}: throttled ${r.steady.throttledBy}; requests by kind ${JSON.stringify(r.steady.byKind)}`,
    );
  printTable(
    'Convergence',
    [
      'N',
      'join: median view',
      'join: all views',
      'death: median view',
      'death: all views',
      'bound TTL + heartbeat + 1 s',
    ],
    results.map((r) => [
      String(r.n),
      seconds(r.joinMedianMs),
      seconds(r.joinMs),
      seconds(r.deathMedianMs),
      seconds(r.deathMs),
      seconds(DEATH_BOUND_MS),
    ]),
  );
  note(
    "join: members start spread over one heartbeat; from the last start until every observer's view holds all N (a row is in the next",
  );
  note(
    'digest after its first heartbeat, and a follower reads the digest once a heartbeat: ≤ 2 heartbeats).',
  );
  note("death: from the dead member's last successful heartbeat to no observer's view holding it.");
  printTable(
    'Start-up and death windows (counted at the emulator)',
    [
      'N',
      'start-up: throttled',
      'start-up: requests',
      'death window: throttled',
      'storage errors at live members',
    ],
    results.map((r) => [
      String(r.n),
      String(r.startup.throttled),
      count(r.startup.requests),
      String(r.death.throttled),
      String(r.errors),
    ]),
  );
  for (const r of results) if (r.startup.throttled > 0) note(`N = ${r.n} start-up: ${r.startup.throttledBy}`);
  const withHeap = results.filter((r) => r.heapPerInstance !== undefined);
  if (withHeap.length > 0) {
    note(
      `heap per Membership instance after join (heapUsed after a forced GC, minus before they were created): ${withHeap
        .map((r) => `N = ${r.n}: ${mib(r.heapPerInstance! * r.n)} / ${r.n} = ${count(r.heapPerInstance!)} B`)
        .join('; ')}`,
    );
  }
  if (anchor) {
    printTable(
      `Anchor, same run: N = ${anchor.n} with useDigest: false (every node lists the partition every heartbeat), ${(2 * HEARTBEAT_MS) / 1000} s`,
      [
        'N',
        'requests',
        'throttled',
        'throttled share',
        'member partition entities/s admitted (busiest 1 s)',
        'failed membership reads',
      ],
      [
        [
          String(anchor.n),
          count(anchor.requests),
          count(anchor.throttled),
          `${((anchor.throttled / Math.max(1, anchor.requests)) * 100).toFixed(1)} %`,
          partitionCells(anchor, `bench-members-anchor-${anchor.n}`)[0]!,
          count(anchor.failedReads),
        ],
      ],
    );
    note(
      `demand: N² / heartbeat = ${count((anchor.n * anchor.n) / (HEARTBEAT_MS / 1000))} entities/s read from one partition.`,
    );
    note(
      '503s are not retried by the SDK (gossipless connections set maxRetries 0): each is a failed membership read.',
    );
  }
}

await runBench('bench/membership', WATCHDOG_MS, main, cleanup);
