import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { memoryIo } from '../../src/cli/io.js';
import type { DemoSummary } from '../../src/cli/demo/index.js';

// The demo runs the migrated example against the built package (dist/), as `npm ci` leaves it.
let reportDir = '';
afterAll(async () => {
  if (reportDir) await rm(reportDir, { recursive: true, force: true });
});

describe('gossipless demo', () => {
  it('tells the whole story and writes a summary.json and a timeline that show it', async () => {
    reportDir = await mkdtemp(path.join(tmpdir(), 'gossipless-demo-test-'));
    const io = memoryIo({ env: {} });
    const code = await runCli(['demo', '--report', reportDir, '--json'], io);
    const summary = JSON.parse(await readFile(path.join(reportDir, 'summary.json'), 'utf8')) as DemoSummary;
    expect(summary.problems, io.err).toEqual([]);
    expect(code).toBe(0);
    expect(summary.storyHeld).toBe(true);
    // Before: every replica believed it was master and swept every tick.
    expect(summary.legacy.replicasThatSwept).toBe(3);
    expect(summary.legacy.sweepsPerTick).toBeGreaterThanOrEqual(2.5);
    // The lint found the self-disabling handlers; migrate rewrote and extracted the limit.
    expect(summary.lint.errors).toBeGreaterThanOrEqual(1);
    expect(summary.lint.locations.join(' ')).toContain('src/cluster/discovery.ts');
    expect(summary.migrate.filesChanged).toBeGreaterThanOrEqual(2);
    expect(summary.migrate.rateLimitsExtracted).toBe(1);
    // After: one sweep per tick, through a kill -9 and a graceful stop, epochs increasing.
    expect(summary.migrated.steadyTicks).toBeGreaterThanOrEqual(6);
    expect([summary.migrated.minSweepsPerTick, summary.migrated.maxSweepsPerTick]).toEqual([1, 1]);
    expect(summary.failover.crash.newLeader).not.toBe(summary.failover.crash.killed);
    expect(summary.failover.crash.ms).toBeLessThanOrEqual(15_000 + 2_500 + 1_000);
    expect(summary.failover.crash.epochAfter).toBe(summary.failover.crash.epochBefore + 1);
    // One bus poll (1 s at the shim's defaults) plus an acquire: usually well under a second.
    expect(summary.failover.graceful.ms).toBeLessThan(1500);
    expect(summary.failover.graceful.epochAfter).toBe(summary.failover.crash.epochAfter + 1);
    expect(summary.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(summary.edge.files).toEqual(
      expect.arrayContaining(['report.md', 'nginx/gossipless-rate-limits.conf']),
    );
    // The picture shows each term with its epoch and the injected faults.
    const svg = await readFile(path.join(reportDir, 'timeline.svg'), 'utf8');
    for (const { epoch } of summary.epochs) expect(svg).toContain(`>epoch ${epoch}<`);
    expect(svg).toContain(`kill -9 ${summary.failover.crash.killed}`);
    expect(svg).toContain(`SIGTERM ${summary.failover.graceful.stopped}`);
    expect(svg.match(/master \d/g)?.length).toBeGreaterThanOrEqual(3 + 3);
  }, 150_000);
});
