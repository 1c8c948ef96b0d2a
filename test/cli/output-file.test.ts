import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { writeOutputFile } from '../../src/cli/output-file.js';
import { runCli } from '../../src/cli/program.js';

// The one writer behind `lint --output` and `edge --out` (issue 17, "Unsafe writes").
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gossipless-output-'));
  writeFileSync(join(dir, 'a.ts'), 'export const a = 1;\n');
  writeFileSync(
    join(dir, 'rules.json'),
    JSON.stringify([{ name: 'per-ip', limit: 100, window: '1m', burst: 10, key: 'ip' }]),
  );
  return dir;
}

const lint = (cwd: string, output: string) => {
  const io = memoryIo({ cwd });
  return runCli(['lint', 'a.ts', '--output', output], io).then((code) => ({ code, io }));
};
const edge = (cwd: string, out: string) => {
  const io = memoryIo({ cwd });
  return runCli(['edge', 'rules.json', '--target', 'nginx', '--out', out], io).then((code) => ({
    code,
    io,
  }));
};

function expectOneLine(text: string): void {
  expect(text.trim().split('\n')).toHaveLength(1);
  expect(text).not.toMatch(/internal error|\n\s+at /);
}

describe('writeOutputFile', () => {
  it('writes whole, leaves no temp file, and replaces an existing regular file', async () => {
    const dir = workspace();
    const target = join(dir, 'report.txt');
    writeFileSync(target, 'old');
    await writeOutputFile(target, 'new', { flag: '--output' });
    expect(readFileSync(target, 'utf8')).toBe('new');
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('never follows a pre-planted symlink at the old predictable temp name', async () => {
    const dir = workspace();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep');
    const target = join(dir, 'report.txt');
    symlinkSync(victim, `${target}.${process.pid}.tmp`);
    await writeOutputFile(target, 'report', { flag: '--output' });
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(readFileSync(target, 'utf8')).toBe('report');
  });

  it('refuses a target that is a symlink, a directory or a device, and leaves it alone', async () => {
    const dir = workspace();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep');
    symlinkSync(victim, join(dir, 'link'));
    mkdirSync(join(dir, 'sub'));
    await expect(writeOutputFile(join(dir, 'link'), 'x', { flag: '--output' })).rejects.toThrow(
      /--output .*link is a symbolic link; name a regular file/,
    );
    await expect(writeOutputFile(join(dir, 'sub'), 'x', { flag: '--output' })).rejects.toThrow(
      /is a directory/,
    );
    await expect(writeOutputFile('/dev/null', 'x', { flag: '--output' })).rejects.toThrow(
      /--output \/dev\/null is not a regular file/,
    );
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('removes its temp file when interrupted before the rename', async () => {
    const dir = workspace();
    const controller = new AbortController();
    controller.abort(new Error('received SIGINT'));
    await expect(
      writeOutputFile(join(dir, 'report.txt'), 'x', { flag: '--output', signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(readdirSync(dir).filter((name) => name.startsWith('.report'))).toEqual([]);
    expect(existsSync(join(dir, 'report.txt'))).toBe(false);
  });
});

describe('lint --output', () => {
  it("refuses '' before linting", async () => {
    const { code, io } = await lint(workspace(), '');
    expect(code).toBe(2);
    expect(io.err).toContain("--output '' is empty");
    expectOneLine(io.err);
  });

  it("creates its folder only when that folder's parent exists, never a tree", async () => {
    const dir = workspace();
    expect((await lint(dir, 'reports/lint.txt')).code).toBe(0);
    expect(readdirSync(join(dir, 'reports'))).toEqual(['lint.txt']);
    const { code, io } = await lint(dir, 'nonexistent/dir/x.txt');
    expect(code).toBe(2);
    expect(io.err).toMatch(
      /--output .*nonexistent\/dir: its directory .*nonexistent does not exist; create it first/,
    );
    expectOneLine(io.err);
    expect(existsSync(join(dir, 'nonexistent'))).toBe(false);
  });

  it('refuses a device and a path under a file, on one line', async () => {
    let result = await lint(workspace(), '/dev/null');
    expect(result.code).toBe(2);
    expectOneLine(result.io.err);
    result = await lint(workspace(), 'a.ts/x.txt');
    expect(result.code).toBe(2);
    expect(result.io.err).toMatch(/a\.ts exists and is not a directory/);
    expectOneLine(result.io.err);
  });

  it('fails fast under /proc instead of spinning', async () => {
    const started = Date.now();
    const { code, io } = await lint(workspace(), '/proc/gossipless-test/x.txt');
    expect(code).toBe(2);
    expectOneLine(io.err);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('edge --out', () => {
  it('creates the output directory when its parent exists, and the target folders in it', async () => {
    const dir = workspace();
    const { code } = await edge(dir, 'out');
    expect(code).toBe(0);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['nginx', 'report.md']);
    expect(readdirSync(join(dir, 'out', 'nginx'))).toEqual(['gossipless-rate-limits.conf']);
  });

  it('gives a one-line error under a file, under a missing parent, under /proc, and for ""', async () => {
    for (const out of ['rules.json/edge', 'missing/edge', '/proc/gossipless-edge', '']) {
      const dir = workspace();
      const started = Date.now();
      const { code, io } = await edge(dir, out);
      expect(code, out).toBe(2);
      expectOneLine(io.err);
      expect(io.err).toContain('--out');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(existsSync(join(dir, 'missing'))).toBe(false);
    }
  });

  it('stops writing on SIGINT/SIGTERM (the aborted signal), says so, and leaves no temp file', async () => {
    const dir = workspace();
    const controller = new AbortController();
    controller.abort(new Error('received SIGTERM'));
    const io = memoryIo({ cwd: dir, signal: controller.signal });
    const code = await runCli(['edge', 'rules.json', '--target', 'nginx', '--out', 'out'], io);
    expect(code).toBe(2);
    expect(io.err).toMatch(/^gossipless: interrupted: wrote 0 of 2 files/);
    expect(readdirSync(join(dir, 'out'))).toEqual([]);
  });

  it('refuses an --out that is a file', async () => {
    const dir = workspace();
    const { code, io } = await edge(dir, 'rules.json');
    expect(code).toBe(2);
    expect(io.err).toContain('exists and is not a directory');
  });

  it('refuses to replace a target file that is a symlink', async () => {
    const dir = workspace();
    mkdirSync(join(dir, 'out', 'nginx'), { recursive: true });
    writeFileSync(join(dir, 'victim'), 'keep');
    symlinkSync(join(dir, 'victim'), join(dir, 'out', 'nginx', 'gossipless-rate-limits.conf'));
    const { code, io } = await edge(dir, 'out');
    expect(code).toBe(2);
    expect(io.err).toContain('is a symbolic link');
    expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('keep');
  });
});
