import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../clock/index.js';
import { startAzurite } from '../dev/index.js';
import { GossiplessError } from '../errors/index.js';
import { readLeaderInfo } from '../lease/index.js';
import { connectStorage } from '../storage/index.js';
import { sweepsPerTick, type DemoSummary } from './demo-summary.js';
import { createIsolation } from './network-isolation.js';
import { ReplicaProcess, type ReplicaEvent } from './replica-process.js';
import { renderTimelineSvg } from './timeline-svg.js';
import { transpileProject } from './transpile-project.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where summary.json, timeline.svg and the edge configs go. @default a new temp folder */
  reportDir?: string;
  /** Sweep period of the example service. @default 1000 */
  sweepEveryMs?: number;
  /** How replicas are kept apart in the legacy run. @default 'auto' (netns when root, else ports) */
  isolation?: 'auto' | 'netns' | 'ports';
  /** Progress lines (the CLI prints them to stderr). */
  progress?: (line: string) => void;
  /** Runs a gossipless CLI command in-process and returns its exit code and stdout. */
  runCommand: (argv: string[], cwd?: string) => Promise<{ code: number; stdout: string }>;
  signal?: AbortSignal;
}

const REPLICAS = 3;
const EXAMPLE = 'examples/legacy-auth-service';

/** The package root: the nearest folder up from here whose package.json is gossipless's. */
async function packageRoot(): Promise<string> {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (
      existsSync(file) &&
      (JSON.parse(await readFile(file, 'utf8')) as { name?: string }).name === 'gossipless'
    )
      return dir;
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new GossiplessError('INTERNAL', 'cannot find the gossipless package root from the demo module');
    dir = parent;
  }
}

function resolvePackageDir(root: string, name: string, why: string): string {
  try {
    return path.dirname(createRequire(path.join(root, 'package.json')).resolve(`${name}/package.json`));
  } catch {
    throw new GossiplessError(
      'NOT_STARTED',
      `the demo needs the package "${name}" (${why}); run \`npm ci\` in ${root} to install it`,
    );
  }
}

/** Copies the example, transpiles it and links the packages it imports. */
async function prepareCopy(from: string, to: string, links: Record<string, string>): Promise<void> {
  await cp(from, to, { recursive: true, filter: (source) => !/[\\/](dist|node_modules)$/.test(source) });
  await linkAndBuild(to, links);
}

async function linkAndBuild(dir: string, links: Record<string, string>): Promise<void> {
  await transpileProject(path.join(dir, 'src'), path.join(dir, 'dist'));
  await mkdir(path.join(dir, 'node_modules'), { recursive: true });
  for (const [name, target] of Object.entries(links)) {
    const link = path.join(dir, 'node_modules', name);
    await mkdir(path.dirname(link), { recursive: true });
    await rm(link, { force: true, recursive: true });
    await symlink(target, link, 'dir');
  }
}

/**
 * The whole story on a local Azurite: the legacy service split-brained, the lint finding, the
 * migration, the migrated service with one sweep per tick through a kill -9 and a graceful stop,
 * and the edge configs. Returns the summary; writes summary.json and timeline.svg.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const say = options.progress ?? (() => undefined);
  const everyMs = options.sweepEveryMs ?? 1000;
  const signal = options.signal;
  const root = await packageRoot();
  const example = path.join(root, EXAMPLE);
  const work = await mkdtemp(path.join(tmpdir(), 'gossipless-demo-'));
  const reportDir = path.resolve(options.reportDir ?? path.join(work, 'report'));
  await mkdir(reportDir, { recursive: true });
  const problems: string[] = [];
  const replicas: ReplicaProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  // The replicas get storage only where the demo says so, never from the caller's environment.
  const {
    AZURE_STORAGE_CONNECTION_STRING: _callersStorage,
    GOSSIPLESS_CLUSTER: _callersCluster,
    ...callerEnv
  } = process.env;
  const baseEnv: NodeJS.ProcessEnv = { ...callerEnv, SWEEP_EVERY_MS: String(everyMs), LOG_LEVEL: 'info' };

  try {
    // 1. The legacy service where multicast is not carried.
    say('1/5 legacy service: 3 replicas where multicast is not carried');
    const legacyDir = path.join(work, 'legacy');
    await prepareCopy(example, legacyDir, {
      'node-discover': resolvePackageDir(root, 'node-discover', 'the legacy example uses it'),
    });
    const isolation = await createIsolation(REPLICAS, options.isolation);
    cleanups.push(() => isolation.dispose());
    say(`    ${isolation.description}`);
    const legacyEvents: ReplicaEvent[] = [];
    const legacyStart = Date.now();
    for (let i = 0; i < REPLICAS; i++) {
      const { command, env } = isolation.commandFor(i, [
        process.execPath,
        path.join(legacyDir, 'dist/main.js'),
      ]);
      replicas.push(
        new ReplicaProcess({
          replica: `legacy-${i + 1}`,
          command,
          cwd: legacyDir,
          env: { ...baseEnv, ...env, REPLICA_ID: `legacy-${i + 1}` },
          onEvent: (e) => legacyEvents.push(e),
        }),
      );
    }
    await sleep(everyMs * 5 + 500, signal);
    const legacyEnd = Date.now();
    await Promise.all(replicas.splice(0).map((r) => r.stop('SIGKILL')));
    const legacyTicks = sweepsPerTick(legacyEvents, everyMs, legacyStart + everyMs, legacyEnd);
    const legacyCounts = [...legacyTicks.values()];
    const legacySweepsPerTick = legacyCounts.length
      ? legacyCounts.reduce((a, b) => a + b, 0) / legacyCounts.length
      : 0;
    const replicasThatSwept = new Set(legacyEvents.filter((e) => e.event === 'sweep').map((e) => e.replica))
      .size;
    say(
      `    every tick swept ${legacySweepsPerTick.toFixed(1)} times; ${replicasThatSwept} replicas believed they were master`,
    );

    // 2. Lint finds the catch; migrate a copy.
    say('2/5 gossipless lint, then gossipless migrate --write on a copy');
    const lint = await options.runCommand(['lint', 'src', '--format', 'json'], legacyDir);
    const lintReport = JSON.parse(lint.stdout) as {
      findings?: Array<{ file: string; line: number; severity: string }>;
    };
    const findings = lintReport.findings ?? [];
    const lintSummary = {
      findings: findings.length,
      errors: findings.filter((f) => f.severity === 'error').length,
      locations: findings.map(
        (f) => `${path.relative(legacyDir, path.resolve(legacyDir, f.file))}:${f.line}`,
      ),
    };
    say(`    lint: ${lintSummary.errors} error(s) at ${lintSummary.locations.join(', ') || '–'}`);
    if (lintSummary.errors === 0) problems.push('lint did not find the self-disabling discovery handler');
    const migratedDir = path.join(work, 'migrated');
    await cp(example, migratedDir, {
      recursive: true,
      filter: (source) => !/[\\/](dist|node_modules)$/.test(source),
    });
    const migrate = await options.runCommand(['migrate', migratedDir, '--write', '--json', '--force']);
    const migrateReport = JSON.parse(migrate.stdout) as {
      counts?: { changed?: number };
      rateLimits?: { extracted?: unknown[]; written?: unknown[] };
      needsHuman?: unknown[];
    };
    const rulesFile = path.join(migratedDir, 'gossipless.rate-limits.json');
    const rules = existsSync(rulesFile)
      ? ((JSON.parse(await readFile(rulesFile, 'utf8')) as { rules?: unknown[] }).rules ?? [])
      : [];
    const migrateSummary = {
      filesChanged: migrateReport.counts?.changed ?? 0,
      rateLimitsExtracted: rules.length,
      needsHuman: migrateReport.needsHuman?.length ?? 0,
    };
    say(
      `    migrate: ${migrateSummary.filesChanged} file(s) changed, ${migrateSummary.rateLimitsExtracted} rate limit(s) extracted`,
    );
    if (migrateSummary.filesChanged === 0) problems.push('migrate changed nothing');

    // 3. The migrated service on Azurite.
    say('3/5 migrated service: 3 replicas on a local Azurite');
    await linkAndBuild(migratedDir, { gossipless: root });
    const azurite = await startAzurite();
    cleanups.push(() => azurite.stop());
    const cluster = `demo-${randomBytes(3).toString('hex')}`;
    const storage = connectStorage({ connectionString: azurite.connectionString });
    const migratedEvents: ReplicaEvent[] = [];
    const marks: Array<{ t: number; label: string }> = [];
    const observations: Array<{ t: number; holder: string | undefined; epoch: number; isHeld: boolean }> = [];
    let observing = true;
    let observeEveryMs = 200;
    const observer = (async () => {
      while (observing) {
        try {
          const info = await readLeaderInfo(storage, { container: 'gossipless', cluster });
          const last = observations.at(-1);
          if (
            !last ||
            last.holder !== info.holder ||
            last.epoch !== info.epoch ||
            last.isHeld !== info.isHeld
          ) {
            observations.push({ t: Date.now(), holder: info.holder, epoch: info.epoch, isHeld: info.isHeld });
          }
        } catch {
          // Not there yet; the replicas create it.
        }
        await sleep(observeEveryMs);
      }
    })();
    const migratedStart = Date.now();
    const migrated = new Map<string, ReplicaProcess>();
    for (let i = 0; i < REPLICAS; i++) {
      const name = `replica-${i + 1}`;
      const replica = new ReplicaProcess({
        replica: name,
        command: [process.execPath, path.join(migratedDir, 'dist/main.js')],
        cwd: migratedDir,
        env: {
          ...baseEnv,
          REPLICA_ID: name,
          AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
          GOSSIPLESS_CLUSTER: cluster,
        },
        onEvent: (e) => migratedEvents.push(e),
      });
      replicas.push(replica);
      migrated.set(name, replica);
    }
    const waitFor = async (what: string, predicate: () => boolean, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (signal?.aborted) throw new GossiplessError('ABORTED', 'the demo was interrupted');
        if (Date.now() > deadline)
          throw new GossiplessError('INTERNAL', `the demo timed out waiting for ${what}`);
        await sleep(25);
      }
    };
    const sweeps = () => migratedEvents.filter((e) => e.event === 'sweep');
    await waitFor('the first sweep after migration', () => sweeps().length > 0, 30_000);
    const firstSweepAt = sweeps()[0]!.t;
    await sleep(everyMs * 5 + 200, signal);
    const leaderNow = (): { replica: string; epoch: number } => {
      const lastSweep = sweeps().at(-1)!;
      const epoch = observations.filter((o) => o.isHeld).at(-1)?.epoch ?? 0;
      return { replica: lastSweep.replica, epoch };
    };

    // kill -9 of the leader.
    const before = leaderNow();
    say(`    ${before.replica} leads (epoch ${before.epoch}); kill -9 it`);
    const killedAt = Date.now();
    marks.push({ t: killedAt, label: `kill -9 ${before.replica}` });
    migratedEvents.push({ t: killedAt, replica: before.replica, event: 'killed' });
    await migrated.get(before.replica)!.stop('SIGKILL');
    await waitFor(
      'a new leader after kill -9',
      () => observations.some((o) => o.t > killedAt && o.isHeld && o.epoch > before.epoch),
      40_000,
    );
    const crashObservation = observations.find((o) => o.t > killedAt && o.isHeld && o.epoch > before.epoch)!;
    await waitFor('sweeps on the new leader', () => sweeps().some((s) => s.t > killedAt), 10_000);
    const afterCrash = sweeps().find((s) => s.t > killedAt)!.replica;
    const crashMs = crashObservation.t - killedAt;
    say(
      `    ${afterCrash} took over after ${(crashMs / 1000).toFixed(1)} s with epoch ${crashObservation.epoch}`,
    );
    await sleep(everyMs * 3 + 200, signal);

    // Graceful stop of the new leader.
    observeEveryMs = 25;
    await sleep(100);
    say(`    SIGTERM ${afterCrash}: it releases the lease`);
    const termAt = Date.now();
    marks.push({ t: termAt, label: `SIGTERM ${afterCrash}` });
    migratedEvents.push({ t: termAt, replica: afterCrash, event: 'stopped' });
    void migrated.get(afterCrash)!.stop('SIGTERM');
    await waitFor(
      'a new leader after SIGTERM',
      () => observations.some((o) => o.t > termAt && o.isHeld && o.epoch > crashObservation.epoch),
      30_000,
    );
    const gracefulObservation = observations.find(
      (o) => o.t > termAt && o.isHeld && o.epoch > crashObservation.epoch,
    )!;
    const gracefulMs = gracefulObservation.t - termAt;
    await waitFor(
      'sweeps after the handover',
      () => sweeps().some((s) => s.t > termAt + 50 && s.replica !== afterCrash),
      10_000,
    );
    const afterGraceful = sweeps().find((s) => s.t > termAt + 50 && s.replica !== afterCrash)!.replica;
    say(`    ${afterGraceful} took over after ${gracefulMs} ms with epoch ${gracefulObservation.epoch}`);
    observeEveryMs = 200;
    await sleep(everyMs * 4 + 200, signal);
    const migratedEnd = Date.now();
    observing = false;
    await observer;
    await Promise.all(replicas.splice(0).map((r) => r.stop('SIGTERM')));

    // One sweep per tick in steady state: each phase between faults, from the tick of its first sweep
    // to the last tick that ended before the next fault.
    const tickStartOf = (t: number): number => Math.floor(t / everyMs) * everyMs;
    const firstSweepAfter = (t: number): number => sweeps().find((s) => s.t > t)?.t ?? t;
    const windows: Array<[number, number]> = [
      [tickStartOf(firstSweepAt), killedAt],
      [tickStartOf(firstSweepAfter(killedAt)), termAt],
      [tickStartOf(firstSweepAfter(termAt + 50)), migratedEnd],
    ];
    const steady = windows.flatMap(([from, to]) => [
      ...sweepsPerTick(migratedEvents, everyMs, from, to).values(),
    ]);
    const all = sweepsPerTick(migratedEvents, everyMs, migratedStart, migratedEnd);
    const migratedSummary = {
      replicas: REPLICAS,
      steadyTicks: steady.length,
      minSweepsPerTick: steady.length ? Math.min(...steady) : 0,
      maxSweepsPerTick: steady.length ? Math.max(...steady) : 0,
      ticksWithDuplicateSweeps: [...all.values()].filter((n) => n > 1).length,
    };
    if (
      migratedSummary.steadyTicks === 0 ||
      migratedSummary.minSweepsPerTick !== 1 ||
      migratedSummary.maxSweepsPerTick !== 1
    ) {
      problems.push(
        `after migration a steady tick swept between ${migratedSummary.minSweepsPerTick} and ${migratedSummary.maxSweepsPerTick} times (expected exactly 1)`,
      );
    }
    const held = observations.filter((o) => o.isHeld);
    const epochs: Array<{ replica: string; epoch: number }> = [];
    for (const o of held) {
      if (epochs.at(-1)?.epoch === o.epoch) continue;
      const promoted = migratedEvents
        .filter((e) => e.event === 'promoted')
        .sort((a, b) => Math.abs(a.t - o.t) - Math.abs(b.t - o.t))[0];
      epochs.push({ replica: promoted?.replica ?? o.holder ?? '?', epoch: o.epoch });
    }
    for (let i = 1; i < epochs.length; i++) {
      if (epochs[i]!.epoch <= epochs[i - 1]!.epoch)
        problems.push(`epoch went from ${epochs[i - 1]!.epoch} to ${epochs[i]!.epoch}`);
    }
    say(
      `    steady state: ${migratedSummary.steadyTicks} ticks, ${migratedSummary.minSweepsPerTick}–${migratedSummary.maxSweepsPerTick} sweep(s) per tick`,
    );

    // 4. Edge configs for the extracted limits.
    say('4/5 gossipless edge for the extracted rate limits');
    const edgeDir = path.join(reportDir, 'edge');
    const targets = ['nginx', 'haproxy', 'azure-front-door', 'azure-apim'];
    let edgeCode = 2;
    if (rules.length > 0) {
      edgeCode = (
        await options.runCommand([
          'edge',
          rulesFile,
          '--target',
          ...targets,
          '--instances',
          String(REPLICAS),
          '--out',
          edgeDir,
        ])
      ).code;
    } else {
      problems.push('no rate limits were extracted, so there is nothing for the edge');
    }
    const edgeFiles = existsSync(edgeDir) ? await listFiles(edgeDir) : [];
    say(`    ${edgeFiles.length} file(s) in ${edgeDir}`);

    // 5. Summary and timeline.
    const summary: DemoSummary = {
      storyHeld: problems.length === 0,
      problems,
      isolation: { kind: isolation.kind, description: isolation.description },
      sweepEveryMs: everyMs,
      legacy: {
        replicas: REPLICAS,
        ticks: legacyCounts.length,
        sweepsPerTick: Math.round(legacySweepsPerTick * 100) / 100,
        replicasThatSwept,
      },
      lint: lintSummary,
      migrate: migrateSummary,
      migrated: migratedSummary,
      failover: {
        crash: {
          killed: before.replica,
          newLeader: afterCrash,
          ms: crashMs,
          epochBefore: before.epoch,
          epochAfter: crashObservation.epoch,
        },
        graceful: {
          stopped: afterCrash,
          newLeader: afterGraceful,
          ms: gracefulMs,
          epochAfter: gracefulObservation.epoch,
        },
      },
      epochs,
      edge: { targets, files: edgeFiles, exitCode: edgeCode },
      reportDir,
      timeline: {
        legacy: { start: legacyStart, end: legacyEnd, events: legacyEvents },
        migrated: { start: migratedStart, end: migratedEnd, events: migratedEvents, marks },
      },
    };
    say('5/5 summary.json and timeline.svg');
    await writeFile(path.join(reportDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    await writeFile(path.join(reportDir, 'timeline.svg'), renderTimelineSvg(summary));
    return summary;
  } finally {
    await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await rm(path.join(work, 'legacy'), { recursive: true, force: true });
    await rm(path.join(work, 'migrated'), { recursive: true, force: true });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}
