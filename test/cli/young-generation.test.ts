import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepYoungGenerationSmall } from '../../src/cli/young-generation.js';

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

describe('the heap setting of the gossipless bin (docs/migrate.md, "Memory")', () => {
  let scratch: string;
  let bin: string;
  let probe: string;
  let service: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'gossipless-young-generation-'));
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

  /** Runs the bin with `args`; returns the young generation's size when it exited, bytes. */
  async function youngGenerationOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
    const report = join(scratch, `young-generation-${Math.random().toString(36).slice(2)}`);
    await run(process.execPath, ['--import', pathToFileURL(probe).href, bin, ...args], {
      cwd: root,
      env: { ...process.env, ...env, YOUNG_GENERATION_REPORT: report },
    }).catch((error: { code?: number; stderr?: string }) => {
      // A dry run with changes to apply exits 1 by design; anything else is a failure.
      if (error.code !== 1) throw new Error(`the bin failed: ${error.stderr ?? String(error)}`);
    });
    return Number(readFileSync(report, 'utf8'));
  }

  it('keeps the young generation of `gossipless migrate` at its initial size', async () => {
    // V8 starts with 2 × 1 MiB semi-spaces on 64-bit and grows them to 2 × 16 MiB; loading the
    // TypeScript compiler alone would grow them (see the next test).
    expect(await youngGenerationOf(['migrate', service])).toBeLessThanOrEqual(2 * MIB);
  }, 60_000);

  it("leaves a user's own young generation flag in force, which the same run then grows", async () => {
    const grown = await youngGenerationOf(['migrate', service], { NODE_OPTIONS: '--max-semi-space-size=16' });
    expect(grown).toBeGreaterThan(2 * MIB);
  }, 60_000);

  it('applies only to batch commands, and not over a flag of the user', () => {
    // Only the `false` answers are asked in this process: a `true` would change this test worker's heap.
    expect(keepYoungGenerationSmall([], [], undefined)).toBe(false);
    expect(keepYoungGenerationSmall(['--help'], [], undefined)).toBe(false);
    expect(keepYoungGenerationSmall(['edge', 'rules.json'], [], undefined)).toBe(false);
    expect(keepYoungGenerationSmall(['dev'], [], undefined)).toBe(false);
    expect(keepYoungGenerationSmall(['migrate', '.'], ['--max-semi-space-size=8'], undefined)).toBe(false);
    expect(
      keepYoungGenerationSmall(['migrate', '.'], [], '--max_semi_space_size=4 --enable-source-maps'),
    ).toBe(false);
    expect(keepYoungGenerationSmall(['migrate', '.'], [], '--semi-space-growth-factor=2')).toBe(false);
  });
});
