import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileChildren, measureInChild, type CompiledChildren } from '../../bench/support/memory.js';

const GOSSIPLESS = fileURLToPath(new URL('../../bench/support/migrate-gossipless.ts', import.meta.url));

describe('memory children compiled for plain Node', () => {
  const cleanup: Array<() => void> = [];
  afterAll(() => cleanup.forEach((remove) => remove()));

  // The migrate workload reaches the TypeScript compiler through a CommonJS file that `require`s it
  // (codemods/syntax/load-typescript.cjs): bundled into an ES module without a real `require`, the
  // child died with "Dynamic require of … is not supported" and bench:migrate with it.
  it('runs the migrate workload, whose code requires a package from a bundled CommonJS file', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'gossipless-memory-'));
    cleanup.push(() => rmSync(tree, { recursive: true, force: true }));
    writeFileSync(
      join(tree, 'a.ts'),
      "import Discover from 'node-discover';\nconst d = new Discover();\nd.on('added', () => undefined);\n",
    );
    writeFileSync(join(tree, 'b.ts'), 'export const b = 1;\n');
    const compiled: CompiledChildren = await compileChildren([GOSSIPLESS]);
    cleanup.push(() => compiled.remove());
    const report = measureInChild(GOSSIPLESS, 'migrateWorkload', [tree], 0, compiled);
    expect(report.files).toBe(2);
    expect(report.peakRssKiB).toBeGreaterThan(0);
  }, 120_000);
});
