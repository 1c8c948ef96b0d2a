import path from 'node:path';
import { sleep } from '@gossipless/runtime';
import { copyExample, linkAndBuild, REPLICAS, resolvePackageDir, type DemoContext } from './demo-context.js';
import { sweepsPerTick, type DemoSummary } from './demo-summary.js';
import { createIsolation } from './network-isolation.js';
import { ReplicaProcess, type ReplicaEvent } from './replica-process.js';

/** What step 1 found, and the copy it ran (lint reads it next). */
export interface LegacyPhase {
  legacyDir: string;
  isolation: DemoSummary['isolation'];
  legacy: DemoSummary['legacy'];
  timeline: DemoSummary['timeline']['legacy'];
}

/** Step 1: three replicas of the legacy service where multicast is not carried. */
export async function runLegacyPhase(context: DemoContext): Promise<LegacyPhase> {
  const { say, everyMs, root, work } = context;
  say('1/5 legacy service: 3 replicas where multicast is not carried');
  const legacyDir = path.join(work, 'legacy');
  await copyExample(context.example, legacyDir);
  await linkAndBuild(legacyDir, {
    'node-discover': resolvePackageDir(root, 'node-discover', 'the legacy example uses it'),
  });
  const isolation = await createIsolation(REPLICAS, context.isolation);
  context.cleanups.push(() => isolation.dispose());
  say(`    ${isolation.description}`);
  const events: ReplicaEvent[] = [];
  const start = Date.now();
  const replicas: ReplicaProcess[] = [];
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
        env: { ...context.baseEnv, ...env, REPLICA_ID: `legacy-${i + 1}` },
        onEvent: (e) => events.push(e),
      }),
    );
  }
  context.replicas.push(...replicas);
  await sleep(everyMs * 5 + 500, context.signal);
  const end = Date.now();
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  const counts = [...sweepsPerTick(events, everyMs, start + everyMs, end).values()];
  const perTick = counts.length ? counts.reduce((a, b) => a + b, 0) / counts.length : 0;
  const replicasThatSwept = new Set(events.filter((e) => e.event === 'sweep').map((e) => e.replica)).size;
  say(
    `    every tick swept ${perTick.toFixed(1)} times; ${replicasThatSwept} replicas believed they were master`,
  );
  return {
    legacyDir,
    isolation: { kind: isolation.kind, description: isolation.description },
    legacy: {
      replicas: REPLICAS,
      ticks: counts.length,
      sweepsPerTick: Math.round(perTick * 100) / 100,
      replicasThatSwept,
    },
    timeline: { start, end, events },
  };
}
