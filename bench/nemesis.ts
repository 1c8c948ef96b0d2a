/**
 * The randomized fault run: `npm run bench:nemesis -- --nodes 5 --minutes 10`. Node processes on
 * a fresh Azurite, each through a fault proxy; kill -9, SIGSTOP past the lease, storage brownouts,
 * 503 throttling and clock skew on a random schedule; then the recorded histories are checked
 * (bench/support/nemesis-checker.ts). Exit 1 on any violation.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatNemesisReport, runNemesis } from './support/nemesis-run.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5' },
    minutes: { type: 'string', default: '10' },
    seconds: { type: 'string' },
    out: { type: 'string' },
  },
});
const durationMs = values.seconds ? Number(values.seconds) * 1000 : Number(values.minutes) * 60_000;
const outDir = values.out ?? (await mkdtemp(path.join(tmpdir(), 'gossipless-nemesis-')));
process.stdout.write(
  `nemesis: ${values.nodes} nodes, ${durationMs / 1000} s of faults, histories in ${outDir}\n`,
);
const report = await runNemesis({
  nodes: Number(values.nodes),
  durationMs,
  outDir,
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${formatNemesisReport(report)}\n`);
process.exitCode = report.check.violations.length > 0 ? 1 : 0;
