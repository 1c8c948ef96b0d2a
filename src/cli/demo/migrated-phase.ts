import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { sleep, connectStorage } from '@gossipless/runtime';
import { startAzurite } from '../../dev/index.js';
import { linkAndBuild, REPLICAS, resolvePackageDir, waitUntil, type DemoContext } from './demo-context.js';
import { epochsByReplica, steadySweepsPerTick, sweepsPerTick, type DemoSummary } from './demo-summary.js';
import { LeaderObserver } from './leader-observer.js';
import { ReplicaProcess, type ReplicaEvent } from './replica-process.js';

/** What step 3 found. */
export interface MigratedPhase {
  migrated: DemoSummary['migrated'];
  failover: DemoSummary['failover'];
  epochs: DemoSummary['epochs'];
  timeline: DemoSummary['timeline']['migrated'];
}

/**
 * Step 3: three migrated replicas on a local Azurite, one sweep per tick, through a kill -9 of the
 * leader and then a SIGTERM of the next one.
 */
export async function runMigratedPhase(context: DemoContext, migratedDir: string): Promise<MigratedPhase> {
  const { say, everyMs, signal } = context;
  say('3/5 migrated service: 3 replicas on a local Azurite');
  await linkAndBuild(migratedDir, {
    '@gossipless/runtime': resolvePackageDir(
      context.root,
      '@gossipless/runtime',
      'the migrated example imports its shims',
    ),
  });
  const azurite = await startAzurite();
  context.cleanups.push(() => azurite.stop());
  const cluster = `demo-${randomBytes(3).toString('hex')}`;
  const observer = new LeaderObserver(
    connectStorage({ connectionString: azurite.connectionString }),
    cluster,
  );
  context.cleanups.push(() => observer.stop());
  const events: ReplicaEvent[] = [];
  const marks: Array<{ t: number; label: string }> = [];
  const start = Date.now();
  const replicas = new Map<string, ReplicaProcess>();
  for (let i = 0; i < REPLICAS; i++) {
    const name = `replica-${i + 1}`;
    const replica = new ReplicaProcess({
      replica: name,
      command: [process.execPath, path.join(migratedDir, 'dist/main.js')],
      cwd: migratedDir,
      env: {
        ...context.baseEnv,
        REPLICA_ID: name,
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        GOSSIPLESS_CLUSTER: cluster,
      },
      onEvent: (e) => events.push(e),
    });
    context.replicas.push(replica);
    replicas.set(name, replica);
  }
  const sweeps = (): ReplicaEvent[] => events.filter((e) => e.event === 'sweep');
  const firstSweepAfter = (t: number, except?: string): ReplicaEvent | undefined =>
    sweeps().find((s) => s.t > t && s.replica !== except);
  const fault = (t: number, replica: string, event: 'killed' | 'stopped', label: string): void => {
    marks.push({ t, label });
    events.push({ t, replica, event });
  };

  await waitUntil(context, 'the first sweep after migration', () => sweeps().length > 0, 30_000);
  const firstSweepAt = sweeps()[0]!.t;
  await sleep(everyMs * 5 + 200, signal);

  // kill -9 of the leader: the one sweeping.
  const killed = sweeps().at(-1)!.replica;
  const epochBefore = observer.currentEpoch;
  say(`    ${killed} leads (epoch ${epochBefore}); kill -9 it`);
  const killedAt = Date.now();
  fault(killedAt, killed, 'killed', `kill -9 ${killed}`);
  await replicas.get(killed)!.stop('SIGKILL');
  await waitUntil(
    context,
    'a new leader after kill -9',
    () => observer.heldAfter(killedAt, epochBefore) !== undefined,
    40_000,
  );
  const crash = observer.heldAfter(killedAt, epochBefore)!;
  await waitUntil(context, 'sweeps on the new leader', () => firstSweepAfter(killedAt) !== undefined, 10_000);
  const afterCrash = firstSweepAfter(killedAt)!.replica;
  say(
    `    ${afterCrash} took over after ${((crash.t - killedAt) / 1000).toFixed(1)} s with epoch ${crash.epoch}`,
  );
  await sleep(everyMs * 4 + 200, signal);

  // Graceful stop of the new leader, observed finely.
  observer.everyMs = 25;
  await sleep(100);
  say(`    SIGTERM ${afterCrash}: it releases the lease`);
  const termAt = Date.now();
  fault(termAt, afterCrash, 'stopped', `SIGTERM ${afterCrash}`);
  void replicas.get(afterCrash)!.stop('SIGTERM');
  await waitUntil(
    context,
    'a new leader after SIGTERM',
    () => observer.heldAfter(termAt, crash.epoch) !== undefined,
    30_000,
  );
  const graceful = observer.heldAfter(termAt, crash.epoch)!;
  await waitUntil(
    context,
    'sweeps after the handover',
    () => firstSweepAfter(termAt + 50, afterCrash) !== undefined,
    10_000,
  );
  const afterGraceful = firstSweepAfter(termAt + 50, afterCrash)!.replica;
  say(`    ${afterGraceful} took over after ${graceful.t - termAt} ms with epoch ${graceful.epoch}`);
  observer.everyMs = 200;
  await sleep(everyMs * 4 + 200, signal);
  const end = Date.now();
  await observer.stop();
  await Promise.all([...replicas.values()].map((r) => r.stop('SIGTERM')));

  const steady = steadySweepsPerTick(events, everyMs, [
    [firstSweepAt, killedAt],
    [firstSweepAfter(killedAt)?.t ?? killedAt, termAt],
    [firstSweepAfter(termAt + 50)?.t ?? termAt, end],
  ]);
  const all = sweepsPerTick(events, everyMs, start, end);
  const migrated = {
    replicas: REPLICAS,
    steadyTicks: steady.length,
    minSweepsPerTick: steady.length ? Math.min(...steady) : 0,
    maxSweepsPerTick: steady.length ? Math.max(...steady) : 0,
    ticksWithDuplicateSweeps: [...all.values()].filter((n) => n > 1).length,
  };
  if (migrated.steadyTicks === 0 || migrated.minSweepsPerTick !== 1 || migrated.maxSweepsPerTick !== 1) {
    context.problems.push(
      `after migration a steady tick swept between ${migrated.minSweepsPerTick} and ${migrated.maxSweepsPerTick} times (expected exactly 1)`,
    );
  }
  const epochs = epochsByReplica(observer.observations, events);
  for (let i = 1; i < epochs.length; i++) {
    if (epochs[i]!.epoch <= epochs[i - 1]!.epoch) {
      context.problems.push(`epoch went from ${epochs[i - 1]!.epoch} to ${epochs[i]!.epoch}`);
    }
  }
  say(
    `    steady state: ${migrated.steadyTicks} ticks, ${migrated.minSweepsPerTick}–${migrated.maxSweepsPerTick} sweep(s) per tick`,
  );
  return {
    migrated,
    failover: {
      crash: { killed, newLeader: afterCrash, ms: crash.t - killedAt, epochBefore, epochAfter: crash.epoch },
      graceful: {
        stopped: afterCrash,
        newLeader: afterGraceful,
        ms: graceful.t - termAt,
        epochAfter: graceful.epoch,
      },
    },
    epochs,
    timeline: { start, end, events, marks },
  };
}
