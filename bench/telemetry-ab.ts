/**
 * bench/telemetry-ab: what the OpenTelemetry instrumentation costs end to end with no SDK
 * registered (the default), in bench:bus's batched throughput and bench:limiter's decisions/s.
 *
 * The anchor is the same runtime without instrumentation, measured in the same run: the workload
 * (bench/support/telemetry-ab-workload.ts) is bundled twice with esbuild, once as is and once with
 * src/telemetry replaced by bench/support/telemetry-off.ts (every hook emptied, same types). Each
 * round runs both bundles in fresh child processes, in random order, against one Azurite; the
 * cost is the median over rounds of the paired ratio (instrumented / not). A paired ratio cancels
 * most of the drift of a busy machine; the spread across rounds says how far to trust it. The CPU
 * time each child spent per operation is printed too: on a busy machine it is far steadier than
 * wall-clock throughput, and on a CPU-bound path it bounds the throughput cost.
 *
 * A throughput ratio cannot resolve a fraction of a percent, so each bus child also times one
 * message's hooks in a loop after its bursts and reports it beside its own CPU per delivered
 * message: the hooks' share of that CPU bounds their share of throughput (the child is not
 * CPU-bound). For the limiter, test/telemetry/hook-calls.test.ts shows the decision path makes no
 * OpenTelemetry call at all.
 *
 * Run: npm run bench:telemetry-ab  (node --import tsx bench/telemetry-ab.ts [--rounds 7] [--only bus|limiter];
 * about a minute a round)
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { NODE_BUNDLE_OPTIONS } from '../test/support/node-bundle.js';
import { startAzurite, type AzuriteInstance } from '../src/dev/index.js';
import { runBench } from './support/run-bench.js';
import { count, machineLine, median, note, printTable, progress, quantile } from './support/report.js';

const run = promisify(execFile);
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const WORKLOAD = here('./support/telemetry-ab-workload.ts');
const TELEMETRY_OFF = here('./support/telemetry-off.ts');
const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, only: { type: 'string' } },
});
const ROUNDS = Number(args.rounds);
if (!(ROUNDS >= 1)) throw new Error('--rounds must be at least 1');
const ALL_MODES = ['bus', 'limiter'] as const;
const MODES = ALL_MODES.filter((mode) => args.only === undefined || args.only === mode);
if (MODES.length === 0) throw new Error(`--only takes ${ALL_MODES.join(' or ')}`);
const VARIANTS = ['instrumented', 'hooks emptied'] as const;
type Variant = (typeof VARIANTS)[number];

let azurite: AzuriteInstance | undefined;
let outDir: string | undefined;

/** Every import of the telemetry folder's door resolves to the emptied module instead. */
const withoutTelemetry: Plugin = {
  name: 'telemetry-off',
  setup(builder) {
    builder.onResolve({ filter: /(^|\/)telemetry\/index\.js$/ }, (args) =>
      args.importer === TELEMETRY_OFF ? undefined : { path: TELEMETRY_OFF },
    );
  },
};

async function bundle(variant: Variant): Promise<string> {
  const outfile = join(outDir!, `${variant === 'instrumented' ? 'on' : 'off'}.mjs`);
  await build({
    ...NODE_BUNDLE_OPTIONS,
    entryPoints: [WORKLOAD],
    outfile,
    plugins: variant === 'instrumented' ? [] : [withoutTelemetry],
  });
  return outfile;
}

interface Measurement {
  perSecond: number;
  cpuMicrosPerOp: number;
  hookMicrosPerOp?: number;
}

async function measure(file: string, mode: string, runId: string): Promise<Measurement> {
  const { stdout } = await run(process.execPath, [file, mode, azurite!.connectionString, runId], {
    timeout: 180_000,
    cwd: here('..'),
  });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Measurement;
}

async function main(): Promise<void> {
  // Inside the project, so the bundles' bare imports (the Azure SDK…) resolve from its node_modules.
  await mkdir(here('../node_modules/.cache'), { recursive: true });
  outDir = await mkdtemp(here('../node_modules/.cache/telemetry-ab-'));
  const files = {
    instrumented: await bundle('instrumented'),
    'hooks emptied': await bundle('hooks emptied'),
  };
  azurite = await startAzurite();
  const rows: string[][] = [];
  const hookRows: string[][] = [];
  for (const mode of MODES) {
    const samples: Record<Variant, number[]> = { instrumented: [], 'hooks emptied': [] };
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const hooks: Record<Variant, number[]> = { instrumented: [], 'hooks emptied': [] };
    const cpuPerMessage: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = Math.random() < 0.5 ? [...VARIANTS] : [...VARIANTS].reverse();
      const result: Partial<Record<Variant, Measurement>> = {};
      for (const variant of order) {
        progress(`${mode}: round ${round + 1}/${ROUNDS}, ${variant}`);
        const runId = `${mode}${round}${variant[0]}${Date.now().toString(36)}`;
        const measured = await measure(files[variant], mode, runId);
        result[variant] = measured;
        samples[variant].push(measured.perSecond);
        if (measured.hookMicrosPerOp !== undefined) hooks[variant].push(measured.hookMicrosPerOp);
        if (variant === 'instrumented') cpuPerMessage.push(measured.cpuMicrosPerOp);
      }
      ratios.push(result.instrumented!.perSecond / result['hooks emptied']!.perSecond);
      cpuRatios.push(result.instrumented!.cpuMicrosPerOp / result['hooks emptied']!.cpuMicrosPerOp);
    }
    if (hooks.instrumented.length > 0) {
      const hookMicros = median(hooks.instrumented) - median(hooks['hooks emptied']);
      hookRows.push([
        `${median(hooks['hooks emptied']).toFixed(3)} µs`,
        `${median(hooks.instrumented).toFixed(3)} µs`,
        `${median(cpuPerMessage).toFixed(1)} µs`,
        `${((hookMicros / median(cpuPerMessage)) * 100).toFixed(2)} %`,
      ]);
    }
    const cost = 1 - median(ratios);
    rows.push([
      mode === 'bus' ? 'bus events/s (burst, batched)' : 'limiter decisions/s (split, 1 node)',
      count(median(samples['hooks emptied'])),
      count(median(samples.instrumented)),
      `${(cost * 100).toFixed(1)} %`,
      `${((1 - quantile(ratios, 0.75)) * 100).toFixed(1)} … ${((1 - quantile(ratios, 0.25)) * 100).toFixed(1)} %`,
      `${((median(cpuRatios) - 1) * 100).toFixed(1)} %`,
    ]);
  }
  printTable(
    `Instrumentation cost with no OpenTelemetry SDK registered (${ROUNDS} paired rounds)`,
    [
      'workload',
      'hooks emptied (anchor)',
      'instrumented',
      'throughput cost (median of paired ratios)',
      'throughput cost, middle half of rounds',
      'extra CPU per op (median of paired ratios)',
    ],
    rows,
  );
  if (hookRows.length > 0) {
    // The paired throughput ratio cannot resolve a fraction of a percent; this can. The child's
    // CPU per message is everything its process did per delivered event (publish, poll, parse,
    // HTTP, SDK), and the hooks' share of it bounds their share of throughput: the child is not
    // CPU-bound (Azurite, in this process, is the busier side).
    printTable(
      'Bus hooks per message, timed inside the bus children after their bursts (median over rounds)',
      [
        'hooks, emptied bundle (anchor)',
        'hooks, instrumented bundle',
        "child's CPU per delivered message",
        "hooks' share of it (instrumented − emptied)",
      ],
      hookRows,
    );
  }
  note(await machineLine());
}

await runBench('bench:telemetry-ab', 30 * 60_000, main, async () => {
  await azurite?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});
