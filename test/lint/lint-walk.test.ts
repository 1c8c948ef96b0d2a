import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { memoryIo } from '../../src/cli/io.js';
import { formatText, isOutside, lintFiles, walkLintTargets } from '../../codemods/lint/index.js';

/** A catch that only logs around a multicast join: a warning wherever it is linted. */
const ONLY_LOGS = `import dgram from 'node:dgram';
const socket = dgram.createSocket('udp4');
socket.bind(5353, () => {
  try {
    socket.addMembership('239.1.1.1');
  } catch (err) {
    console.warn('no multicast', err);
  }
});
`;

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

async function lint(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo({ cwd });
  const code = await runCli(['lint', ...args], io);
  return { code, out: io.out, err: io.err };
}

describe('gossipless lint: what the walk reads, skips and refuses', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'gossipless-lint-walk-'));
    mkdirSync(join(root, '.git'));
    write(root, '.gitignore', '*.generated.ts\n');
    write(root, 'src/start.ts', ONLY_LOGS);
    write(root, '..gen/peers.generated.ts', ONLY_LOGS);
    write(root, '..gen/kept.ts', ONLY_LOGS);
    write(root, 'packages/node_modules/app/discovery.ts', ONLY_LOGS);
    write(root, 'src/start.test.ts', ONLY_LOGS);
    write(root, 'test/helpers/socket.ts', ONLY_LOGS);
    write(root, 'examples/demo.js', ONLY_LOGS);
    write(root, 'samples/toggle.ts', ONLY_LOGS);
    write(root, 'test.js', ONLY_LOGS);
    write(root, 'example.js', ONLY_LOGS);
    write(root, 'integration-tests/cluster.ts', ONLY_LOGS);
    write(root, 'attestation/peers.ts', ONLY_LOGS);
    write(root, 'doc/old-discovery.js', ONLY_LOGS);
    execFileSync('mkfifo', [join(root, 'fifo.ts')]);
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a folder named "..gen" is inside the target: the root .gitignore applies to it', () => {
    expect(isOutside('..gen')).toBe(false);
    expect(isOutside(join('..gen', 'a.ts'))).toBe(false);
    expect(isOutside('..')).toBe(true);
    expect(isOutside(join('..', 'a.ts'))).toBe(true);
    const files = lintFiles(['.'], { cwd: root }).findings.map((finding) => finding.file);
    expect(files).toContain('..gen/kept.ts');
    expect(files).not.toContain('..gen/peers.generated.ts');
  });

  it('says which node_modules folders it did not read, and how to lint one', async () => {
    const report = lintFiles(['.'], { cwd: root });
    expect(report.notLinted.dependencyFolders).toEqual(['packages/node_modules']);
    const text = formatText(report, { color: false, readSource: () => undefined });
    expect(text).toContain('Not linted: 1 folder named node_modules (packages/node_modules)');
    expect(text).toContain('gossipless lint packages/node_modules');
    // Seen from outside the target, the folder is named absolutely, not as `../../…`.
    const fromElsewhere = walkLintTargets([root], join(root, 'src'));
    expect(fromElsewhere.dependencyFolders).toEqual([join(root, 'packages', 'node_modules')]);
    // Named explicitly, it is linted.
    const named = await lint(root, 'packages/node_modules', '--format', 'json');
    expect(JSON.parse(named.out).findings.map((f: { file: string }) => f.file)).toEqual([
      'packages/node_modules/app/discovery.ts',
    ]);
  });

  it('leaves test and example code out unless --include-tests, and says so', async () => {
    const report = lintFiles(['.'], { cwd: root });
    expect(report.findings.map((finding) => finding.file)).toEqual([
      '..gen/kept.ts',
      'attestation/peers.ts',
      'src/start.ts',
    ]);
    expect(report.notLinted.testPaths).toEqual([
      'doc',
      'example.js',
      'examples',
      'integration-tests',
      'samples',
      'src/start.test.ts',
      'test',
      'test.js',
    ]);
    expect(formatText(report, { color: false, readSource: () => undefined })).toContain(
      'add --include-tests to lint them',
    );
    const included = await lint(root, '--include-tests', '--format', 'json');
    expect(JSON.parse(included.out).findings.map((f: { file: string }) => f.file)).toEqual([
      '..gen/kept.ts',
      'attestation/peers.ts',
      'doc/old-discovery.js',
      'example.js',
      'examples/demo.js',
      'integration-tests/cluster.ts',
      'samples/toggle.ts',
      'src/start.test.ts',
      'src/start.ts',
      'test.js',
      'test/helpers/socket.ts',
    ]);
  });

  it('skips a folder it cannot read with the reason, and lints the rest', () => {
    const walked = walkLintTargets(['.'], root, {
      readDirectory: (path) => {
        if (path.endsWith(`${join('src')}`)) {
          throw Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: 'EACCES' });
        }
        return readdirSync(path, { withFileTypes: true });
      },
    });
    expect(walked.unreadableFolders).toEqual([
      { folder: 'src', reason: 'cannot read the folder (EACCES); fix its permissions to lint it' },
    ]);
    expect(walked.files.map((file) => file.slice(root.length + 1))).toEqual([
      join('..gen', 'kept.ts'),
      join('attestation', 'peers.ts'),
    ]);
  });

  it('a FIFO or a device is a one-line usage error naming the input, not "scandir ENOTDIR"', async () => {
    for (const input of ['fifo.ts', '/dev/null']) {
      const result = await lint(root, input);
      expect(result.code).toBe(2);
      expect(result.err).toContain(`lint path "${input}" is neither a file nor a folder`);
      expect(result.err).toContain('give a source file or a folder');
      expect(result.err).not.toContain('ENOTDIR');
      expect(result.err.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('gossipless lint: compiled output beside its source', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'gossipless-lint-compiled-'));
    write(root, 'src/main.ts', ONLY_LOGS);
    // tsc's output of src/main.ts, committed with its map: the same mistake, one line further down.
    write(
      root,
      'build/main.js',
      `"use strict";\n${ONLY_LOGS.replace("import dgram from 'node:dgram';", "const dgram = require('node:dgram');")}//# sourceMappingURL=main.js.map\n`,
    );
    write(
      root,
      'build/main.js.map',
      JSON.stringify({ version: 3, sources: ['../src/main.ts'], mappings: '' }),
    );
    // A bundle whose sources are not in the tree is the only copy of that code: it is linted.
    write(
      root,
      'vendor/lan.js',
      ONLY_LOGS.replace("import dgram from 'node:dgram';", "const dgram = require('dgram');"),
    );
    write(
      root,
      'vendor/lan.js.map',
      JSON.stringify({ version: 3, sources: ['../../lan/src/index.ts'], mappings: '' }),
    );
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lints the source, not the compiled copy its source map points back to, and says so', async () => {
    const report = lintFiles(['.'], { cwd: root });
    expect(report.findings.map((finding) => finding.file)).toEqual(['src/main.ts', 'vendor/lan.js']);
    expect(report.notLinted.compiledPaths).toEqual(['build/main.js']);
    expect(formatText(report, { color: false, readSource: () => undefined })).toContain(
      'Not linted: 1 compiled file whose source is linted instead, as its source map says (build/main.js)',
    );
    const named = await lint(root, 'build/main.js', '--format', 'json');
    expect(JSON.parse(named.out).findings.map((f: { file: string }) => f.file)).toEqual(['build/main.js']);
  });
});

describe('gossipless lint: a build output folder beside its sources', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'gossipless-lint-build-'));
    write(root, 'src/main.ts', ONLY_LOGS);
    // A bundler's output (tsup, rollup) committed without maps: two copies and their declarations.
    const bundled = ONLY_LOGS.replace(
      "import dgram from 'node:dgram';",
      "const dgram = require('node:dgram');",
    );
    write(root, 'dist/index.js', bundled);
    write(root, 'dist/index.cjs', bundled);
    write(root, 'dist/index.d.ts', 'export declare function start(): void;\n');
    // A plain JavaScript package with hand-written types and no src/: its lib/ is the source.
    write(root, 'plain/lib/index.js', bundled);
    write(root, 'plain/lib/index.d.ts', 'export declare function start(): void;\n');
    // A dist/ without declarations next to src/ may be anything: it is linted.
    write(root, 'other/src/keep.ts', 'export const keep = 1;\n');
    write(root, 'other/dist/lan.js', bundled);
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lints src/, not the dist/ beside it that holds declarations, and says how to include it', async () => {
    const report = lintFiles(['.'], { cwd: root });
    expect(report.findings.map((finding) => finding.file)).toEqual([
      'other/dist/lan.js',
      'plain/lib/index.js',
      'src/main.ts',
    ]);
    expect(report.notLinted.buildFolders).toEqual(['dist']);
    expect(formatText(report, { color: false, readSource: () => undefined })).toContain(
      'Not linted: 1 build output folder beside src/, holding type declarations (dist); name one to lint it: gossipless lint dist',
    );
    const named = await lint(root, 'dist', '--format', 'json');
    expect(JSON.parse(named.out).findings.map((f: { file: string }) => f.file)).toEqual([
      'dist/index.cjs',
      'dist/index.js',
    ]);
  });
});
