/**
 * The randomized fault run: `npm run bench:nemesis -- --nodes 5 --minutes 10`. Node processes on
 * a fresh Azurite, each through a fault proxy; kill -9, SIGSTOP past the lease, storage brownouts,
 * 503 throttling and clock skew on a random schedule; then the recorded histories are checked
 * (bench/support/nemesis-checker.ts). Exit 1 on any violation.
 *
 * `npm run bench:nemesis -- --check <dir>` checks the histories a run left in `<dir>` again
 * (with `--drain-ms` if the run's drain was not the default 15 s), without running anything.
 */
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkHistory } from './support/nemesis-checker.js';
import {
  checkerOptions,
  formatCheckResult,
  formatNemesisReport,
  readHistories,
  runNemesis,
} from './support/nemesis-run.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5' },
    minutes: { type: 'string', default: '10' },
    seconds: { type: 'string' },
    out: { type: 'string' },
    check: { type: 'string' },
    'drain-ms': { type: 'string', default: '15000' },
  },
});
const drainMs = Number(values['drain-ms']);
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');

if (values.check) {
  const check = checkHistory(await readHistories(values.check), checkerOptions(drainMs));
  process.stdout.write(`${formatCheckResult(check)}\n`);
  process.exitCode = check.violations.length > 0 ? 1 : 0;
} else {
  const durationMs = values.seconds ? Number(values.seconds) * 1000 : Number(values.minutes) * 60_000;
  const outDir = values.out ?? (await mkdtemp(path.join(tmpdir(), 'gossipless-nemesis-')));
  process.stdout.write(
    `nemesis: ${values.nodes} nodes, ${durationMs / 1000} s of faults, histories in ${outDir}\n` +
      `load average at start (1, 5, 15 min): ${load()}\n`,
  );
  // The machine's load while it runs (other processes make the run harsher; say how much).
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(loadavg()[0]!), 10_000);
  const report = await runNemesis({
    nodes: Number(values.nodes),
    durationMs,
    drainMs,
    outDir,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  clearInterval(sampler);
  const mean = samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length);
  process.stdout.write(
    `${formatNemesisReport(report)}\n` +
      `load average (1 min) sampled every 10 s during the run: mean ${mean.toFixed(1)}, max ${Math.max(0, ...samples).toFixed(1)}; at the end (1, 5, 15 min): ${load()}\n`,
  );
  process.exitCode = report.check.violations.length > 0 ? 1 : 0;
}
