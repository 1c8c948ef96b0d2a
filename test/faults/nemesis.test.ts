import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { FAULT_KINDS, formatNemesisReport, runNemesis } from '../../bench/support/nemesis-run.js';

// The randomized fault run of `npm run bench:nemesis`, 90 s of faults on 5 node processes. The
// checker's properties are the assertion; the printed report says what was injected and checked.
describe('randomized fault run (nemesis)', () => {
  it('90 s of kill -9, SIGSTOP past the lease, brownouts, 503 throttling and clock skew: 0 violations', async () => {
    const outDir = await mkdtemp(path.join(tmpdir(), 'gossipless-nemesis-'));
    const blob = new URL(inject('azuriteBlobEndpoint'));
    const table = new URL(inject('azuriteTableEndpoint'));
    const report = await runNemesis({
      nodes: 5,
      durationMs: 90_000,
      drainMs: 15_000,
      meanGapMs: 4000,
      outDir,
      azurite: { blobPort: Number(blob.port), tablePort: Number(table.port) },
    });
    const printed = formatNemesisReport(report);
    process.stdout.write(`${printed}\n`);
    expect(report.check.violations, printed).toEqual([]);
    const injected = FAULT_KINDS.filter((kind) => report.faults[kind] > 0);
    expect(injected.length, printed).toBeGreaterThanOrEqual(FAULT_KINDS.length - 1);
    // Half the faults aim at the leader (the ones that test fencing): the run must know who leads.
    const onLeader = Object.values(report.onLeader).reduce((a, b) => a + b, 0);
    expect(onLeader, printed).toBeGreaterThanOrEqual(1);
    expect(report.check.terms).toBeGreaterThanOrEqual(1);
    await rm(outDir, { recursive: true, force: true });
  }, 240_000);
});
