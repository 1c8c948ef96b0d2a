import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateSourceText } from '../../codemods/migrate/index.js';
import { memoryIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

const LEGACY = `import Discover from 'node-discover';\nexport const d = Discover({ port: 1, multicast: '239.1.1.1' });\n`;

let root: string;

function put(relative: string, text: string): string {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

function git(...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=test@example.com', '-c', 'user.name=test', ...args], { cwd: root });
}

/** A pid no process has any more: a child that has already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'gossipless-migrate-cli-hostile-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('gossipless migrate: clear errors and resumable writes', () => {
  it('given a file instead of a folder, says so in one line (exit 2, no internal error)', async () => {
    put('legacy.js', LEGACY);
    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', 'legacy.js'], io)).toBe(2);
    expect(io.err).toMatch(/^gossipless: legacy\.js is a file, not a folder: .*gossipless migrate \.\)\n$/);
    expect(io.err).not.toContain('internal error');
  });

  it('given a missing folder, says so in one line', async () => {
    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', 'nope'], io)).toBe(2);
    expect(io.err).toBe('gossipless: nope does not exist: pass the folder (repository) to migrate\n');
  });

  it('a rerun after a killed --write finishes the migration: its temp files removed, migrated files recognised', async () => {
    put('src/a.ts', LEGACY);
    put('src/b.ts', LEGACY);
    put('src/c.ts', 'export const untouched = 1;\n');
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'legacy');
    // What a kill -9 in the middle of the writes leaves: a.ts written, b.ts's temp file half done.
    writeFileSync(
      path.join(root, 'src/a.ts'),
      migrateSourceText(LEGACY, { absolutePath: path.join(root, 'src/a.ts') }).text,
    );
    const leftover = put(`src/.b.ts.gossipless-${deadPid()}-0a1b2c3d.tmp`, 'import Discover from');

    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--write'], io)).toBe(0);

    expect(io.err).toContain('resuming an interrupted migration: 1 file already migrated, 1 temporary file');
    expect(existsSync(leftover)).toBe(false);
    expect(readFileSync(path.join(root, 'src/b.ts'), 'utf8')).toContain(
      "from '@gossipless/runtime/shims/node-discover'",
    );
    expect(readFileSync(path.join(root, 'src/a.ts'), 'utf8')).toContain(
      "from '@gossipless/runtime/shims/node-discover'",
    );
  });

  it('still refuses a rerun when a file was also edited by hand', async () => {
    put('src/a.ts', LEGACY);
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'legacy');
    put(`src/.a.ts.gossipless-${deadPid()}-0a1b2c3d.tmp`, 'partial');
    put('src/a.ts', `${LEGACY}// my own edit\n`);

    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--write'], io)).toBe(2);
    expect(io.err).toContain('has uncommitted changes (1 path)');
    expect(readFileSync(path.join(root, 'src/a.ts'), 'utf8')).toBe(`${LEGACY}// my own edit\n`);
  });

  it('--max-file-size raises or lowers the size limit; a bad size is a usage error', async () => {
    put('big.ts', `${LEGACY}//${'x'.repeat(3000)}\n`);
    const low = memoryIo({ cwd: root });
    await runCli(['migrate', '.', '--max-file-size', '2KiB'], low);
    expect(low.out).toContain('big.ts  larger than 2 KiB');
    const high = memoryIo({ cwd: root });
    await runCli(['migrate', '.', '--max-file-size', '1MiB'], high);
    expect(high.out).toContain('migrate: 1 changed');
    const bad = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.', '--max-file-size', 'lots'], bad)).toBe(2);
    expect(bad.err).toContain('is not a size');
  });
});
