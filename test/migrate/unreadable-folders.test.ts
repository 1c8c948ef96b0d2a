import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { migrate } from '../../codemods/migrate/index.js';
import { memoryIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

// The tests run as root, where chmod 000 does not stop a read: readdir fails on the paths below as
// it would for another user (EACCES) or on a dead network mount (ENOTCONN).
const failures = new Map<string, string>();
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const readdir = (async (directory: string, options?: unknown) => {
    const code = failures.get(path.resolve(String(directory)));
    if (code !== undefined) {
      throw Object.assign(new Error(`${code}: scandir '${String(directory)}'`), {
        code,
        syscall: 'scandir',
        path: String(directory),
      });
    }
    return actual.readdir(directory, options as never);
  }) as typeof actual.readdir;
  return { ...actual, default: { ...actual, readdir }, readdir };
});

const LEGACY = `import Discover from 'node-discover';\nexport const d = Discover({ port: 1, multicast: '239.1.1.1' });\n`;
let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'gossipless-migrate-unreadable-'));
  failures.clear();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('migrate with folders it cannot read', () => {
  it('skips an unreadable subfolder with a reason and migrates the rest', async () => {
    mkdirSync(path.join(root, 'locked'));
    mkdirSync(path.join(root, 'src'));
    writeFileSync(path.join(root, 'src/a.ts'), LEGACY);
    failures.set(path.join(root, 'locked'), 'EACCES');

    const report = await migrate({ targetDir: root, write: true });

    expect(report.files).toEqual([
      {
        path: 'locked',
        status: 'skipped',
        reason: 'folder cannot be read (EACCES): not migrated; fix its permissions and run again',
      },
      expect.objectContaining({ path: 'src/a.ts', status: 'changed', written: true }),
    ]);
    expect(readFileSync(path.join(root, 'src/a.ts'), 'utf8')).toContain(
      '@gossipless/runtime/shims/node-discover',
    );
  });

  it('turns a system error on the target (a dead mount) into one line naming it, not an internal error', async () => {
    failures.set(root, 'ENOTCONN');
    const io = memoryIo({ cwd: root });
    expect(await runCli(['migrate', '.'], io)).toBe(2);
    expect(io.err).toMatch(/^gossipless: migrate \. stopped: scandir .* failed \(ENOTCONN\); check that/);
    expect(io.err.trim().split('\n')).toHaveLength(1);
    expect(io.err).not.toContain('internal error');
  });
});
