import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyBatchV8Flags } from '../../src/cli/batch-v8-flags.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const MIB = 1024 * 1024;

// Preloaded into the bin: when the process exits, writes the size of V8's young generation (both
// semi-spaces) to the file named by YOUNG_GENERATION_REPORT.
const PROBE = `import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
process.on('exit', () => {
  const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  writeFileSync(process.env.YOUNG_GENERATION_REPORT, String(newSpace?.space_size ?? -1));
});
`;

describe('the V8 flags the gossipless bin sets for `gossipless migrate` (docs/migrate.md, "Memory")', () => {
  let scratch: string;
  let bin: string;
  let probe: string;
  let service: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'gossipless-batch-v8-flags-'));
    probe = join(scratch, 'probe.mjs');
    writeFileSync(probe, PROBE);
    service = join(scratch, 'service');
    mkdirSync(join(service, 'src'), { recursive: true });
    for (let index = 0; index < 20; index++) {
      writeFileSync(
        join(service, 'src', `leader-${index}.ts`),
        `import Discover from 'node-discover';\n` +
          `export const discover = Discover({ port: 12345, multicast: '239.1.1.${index}', reuseAddr: true });\n` +
          `discover.on('promotion', () => console.log('leader ${index}'));\n`,
      );
    }
    // The bin as npm installs it (built by npm ci's prepare), not a one-file bundle: a bundle imports
    // every package (the TypeScript compiler too) before its first line runs.
    bin = join(root, 'dist/src/cli/bin.js');
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /**
   * Runs `node [nodeFlags] --trace-opt <bin> migrate <service>`; returns the young generation's size
   * when it exited (bytes) and how many lines V8 printed about TurboFan.
   */
  async function migrateWith(
    nodeFlags: string[],
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ youngGeneration: number; turbofanLines: number }> {
    const report = join(scratch, `young-generation-${Math.random().toString(36).slice(2)}`);
    const argv = [
      ...nodeFlags,
      '--trace-opt',
      '--import',
      pathToFileURL(probe).href,
      bin,
      'migrate',
      service,
    ];
    const stdout = await run(process.execPath, argv, {
      cwd: root,
      env: { ...process.env, ...env, YOUNG_GENERATION_REPORT: report },
      maxBuffer: 64 * MIB,
    }).then(
      (done) => done.stdout,
      // A dry run with changes to apply exits 1 by design; anything else is a failure.
      (error: { code?: number; stdout?: string; stderr?: string }) => {
        if (error.code !== 1) throw new Error(`the bin failed: ${error.stderr ?? String(error)}`);
        return error.stdout ?? '';
      },
    );
    expect(stdout).toContain('migrate: 20 changed');
    return {
      youngGeneration: Number(readFileSync(report, 'utf8')),
      turbofanLines: stdout.split('\n').filter((line) => /turbofan/i.test(line)).length,
    };
  }

  it('keeps the young generation at its initial size and TurboFan off', async () => {
    // V8 starts with 2 × 1 MiB semi-spaces on 64-bit and grows them to 2 × 16 MiB; on this service
    // loading the TypeScript compiler alone grows them, and TurboFan compiles dozens of functions
    // (the next two tests, where the user's own flag wins).
    const { youngGeneration, turbofanLines } = await migrateWith([]);
    expect(youngGeneration).toBeLessThanOrEqual(2 * MIB);
    expect(turbofanLines).toBe(0);
  }, 60_000);

  it("leaves the young generation to a user's own semi-space flag, and still turns TurboFan off", async () => {
    const { youngGeneration, turbofanLines } = await migrateWith([], {
      NODE_OPTIONS: '--max-semi-space-size=16',
    });
    expect(youngGeneration).toBeGreaterThan(2 * MIB);
    expect(turbofanLines).toBe(0);
  }, 60_000);

  it("leaves TurboFan to a user's own `node --opt`, and still keeps the young generation small", async () => {
    const { youngGeneration, turbofanLines } = await migrateWith(['--opt']);
    expect(youngGeneration).toBeLessThanOrEqual(2 * MIB);
    expect(turbofanLines).toBeGreaterThan(0);
  }, 60_000);

  it('sets nothing for other commands, nor over flags of the user on the same things', () => {
    // Only answers that set nothing are asked in this process: a flag set here would change this
    // test worker's heap. The cases that set flags run in the bin above.
    expect(applyBatchV8Flags([], [], undefined)).toEqual([]);
    expect(applyBatchV8Flags(['--help'], [], undefined)).toEqual([]);
    expect(applyBatchV8Flags(['help', 'migrate'], [], undefined)).toEqual([]);
    expect(applyBatchV8Flags(['edge', 'rules.json'], [], undefined)).toEqual([]);
    expect(applyBatchV8Flags(['dev'], [], undefined)).toEqual([]);
    expect(applyBatchV8Flags(['lint', '.'], [], undefined)).toEqual([]);
    expect(applyBatchV8Flags(['migrate', '.'], ['--max-semi-space-size=8', '--no-opt'], undefined)).toEqual(
      [],
    );
    expect(
      applyBatchV8Flags(['migrate', '.'], ['--max-opt=2'], '--max_semi_space_size=4 --enable-source-maps'),
    ).toEqual([]);
    expect(applyBatchV8Flags(['migrate', '.'], ['--jitless'], '--semi-space-growth-factor=2')).toEqual([]);
  });
});
