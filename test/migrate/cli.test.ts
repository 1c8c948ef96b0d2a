import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

const LEGACY = `import Discover from 'node-discover';\nexport const d = Discover({ port: 1, multicast: '239.1.1.1' });\n`;

let root: string;

function put(relative: string, text: string): void {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

function git(...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=test@example.com', '-c', 'user.name=test', ...args], { cwd: root });
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'gossipless-migrate-cli-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('gossipless migrate', () => {
  it('dry run: prints the diff and the summary, writes nothing, exits 1 because changes are pending', async () => {
    put('src/a.ts', LEGACY);
    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.'], io)).toBe(1);
    expect(io.out).toContain("+import Discover from '@gossipless/runtime/shims/node-discover';");
    expect(io.out).toContain(
      'migrate: 1 changed, 0 unchanged, 0 skipped, 0 errors in . — dry run, nothing written',
    );
    expect(io.out).not.toContain('\u001b[');
    expect(readFileSync(path.join(root, 'src/a.ts'), 'utf8')).toBe(LEGACY);
  });

  it('colours the diff when the IO has colour', async () => {
    put('src/a.ts', LEGACY);
    const io = memoryIo({ cwd: root, color: true });
    await runCli(['migrate', '.'], io);
    expect(io.out).toContain('\u001b[32m+import Discover');
  });

  it('--write applies, prints next steps (lint, edge), exits 0; a second run has nothing to do', async () => {
    put('src/a.ts', LEGACY);
    put(
      'gossipless.config.json',
      JSON.stringify({
        modules: [
          {
            from: '@acme/limiter',
            to: '@gossipless/runtime/shims/crdt-rate-limiter',
            exports: { Limiter: 'CrdtRateLimiter' },
            constructorExport: 'Limiter',
            options: { rename: { max: 'limit' } },
          },
        ],
      }),
    );
    put(
      'src/limits.ts',
      `import { Limiter } from '@acme/limiter';\nexport const api = new Limiter({ max: 10, windowMs: 1000 });\n`,
    );
    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--write'], io)).toBe(0);
    expect(io.out).toContain('— written.');
    expect(io.out).toContain('Next steps:');
    expect(io.out).toContain('npm install @gossipless/runtime');
    expect(io.out).toContain('gossipless lint .');
    expect(io.out).toContain('gossipless edge gossipless.rate-limits.json --target <target>');
    // The rewritten limiter (like the other shims) refuses to start without a cluster name.
    expect(io.out).toContain('set GOSSIPLESS_CLUSTER=<this service> where it runs');
    expect(readFileSync(path.join(root, 'src/a.ts'), 'utf8')).toContain(
      '@gossipless/runtime/shims/node-discover',
    );

    const again = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.'], again)).toBe(0);
    expect(again.out).toContain('0 changed, 2 unchanged');
    expect(again.out).toContain('nothing to change.');
  });

  it('--json prints one JSON document with diffs, findings and counts', async () => {
    put('src/a.ts', LEGACY);
    put('src/b.ts', `import Discover from 'node-discover';\nexport const d = Discover(load());\n`);
    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--json'], io)).toBe(1);
    const report = JSON.parse(io.out);
    expect(report).toMatchObject({
      mode: 'dry-run',
      counts: { files: 2, changed: 2, errors: 0 },
      exitCode: 1,
    });
    expect(report.reviews).toEqual([
      expect.objectContaining({
        file: 'src/b.ts',
        line: 2,
        reason: expect.stringContaining('built at run time'),
      }),
    ]);
    expect(report.files.map((file: { path: string }) => file.path)).toEqual(['src/a.ts', 'src/b.ts']);
  });

  it('exits 1 after --write when call sites still need a human, and lists them with file:line', async () => {
    put('src/b.ts', `import Discover from 'node-discover';\nexport const d = Discover(load());\n`);
    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--write'], io)).toBe(1);
    expect(io.out).toMatch(
      /Left as is, needs a human \(1\):\n {2}src\/b\.ts:2:18 {2}options `load\(\)` are built at run time/,
    );
  });

  it('exits 1 when a file naming a legacy module does not parse, and lists it as skipped', async () => {
    put('src/broken.ts', `import Discover from 'node-discover';\nconst = ;\n`);
    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--write'], io)).toBe(1);
    expect(io.out).toMatch(/Skipped \(1\):\n {2}src\/broken\.ts {2}does not parse \(line 2: /);
  });

  it('exits 2 and says so when interrupted', async () => {
    put('src/a.ts', LEGACY);
    const controller = new AbortController();
    controller.abort();
    const io = memoryIo({ cwd: root, signal: controller.signal });
    expect(await runCli(['migrate', '.', '--write'], io)).toBe(2);
    expect(io.err).toContain('migrate was interrupted');
    expect(readFileSync(path.join(root, 'src/a.ts'), 'utf8')).toBe(LEGACY);
  });

  it('exits 0 on a tree with nothing to migrate', async () => {
    put('src/a.ts', 'export const a = 1;\n');
    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.'], io)).toBe(0);
  });

  it('warns on a dirty git tree, refuses --write without --force (exit 2), writes with --force', async () => {
    put('src/a.ts', LEGACY);
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'legacy');
    put('src/wip.ts', 'export const wip = 1;\n');

    const dry = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.'], dry)).toBe(1);
    expect(dry.err).toContain('warning: . has uncommitted changes (1 path)');

    const refused = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--write'], refused)).toBe(2);
    expect(refused.err).toContain('pass --force to write anyway');
    expect(readFileSync(path.join(root, 'src/a.ts'), 'utf8')).toBe(LEGACY);

    const forced = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--write', '--force'], forced)).toBe(0);
    expect(readFileSync(path.join(root, 'src/a.ts'), 'utf8')).toContain(
      '@gossipless/runtime/shims/node-discover',
    );
  });

  it('exits 2 with a clear message for a bad config, a missing --config file and a missing directory', async () => {
    put('gossipless.config.json', '{ "modules": [ { "from": 1 } ] ');
    const badJson = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.'], badJson)).toBe(2);
    expect(badJson.err).toMatch(/gossipless\.config\.json is not valid JSON/);

    const missing = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--config', 'nope.json'], missing)).toBe(2);
    expect(missing.err).toMatch(
      /cannot read the config file .*nope\.json \(ENOENT\); check the --config path/,
    );

    const noDir = memoryIo({ cwd: root });
    expect(await runCli(['migrate', 'does-not-exist'], noDir)).toBe(2);
    expect(noDir.err).toContain('does-not-exist does not exist');
  });

  it('shows a progress bar on stderr for a large tree on a terminal, and none otherwise', async () => {
    for (let index = 0; index < 600; index++) put(`src/f${index}.ts`, `export const v${index} = ${index};\n`);
    const tty = memoryIo({ cwd: root, isTTY: true });
    expect(await runCli(['migrate', '.'], tty)).toBe(0);
    expect(tty.err).toContain('600/600 files');
    expect(tty.out).not.toContain('files');

    const pipe = memoryIo({ cwd: root });
    await runCli(['migrate', '.'], pipe);
    expect(pipe.err).toBe('');
  });
});
