import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, validateRateLimitsDocument } from '../../codemods/migrate/index.js';

const LEGACY = `import Discover from 'node-discover';\n\nexport const d = Discover({\n  port: 12345,\n  multicast: '239.1.1.1',\n});\n`;
const MIGRATED = `import Discover from '@gossipless/runtime/shims/node-discover';\n\nexport const d = Discover({\n  port: 12345,\n  // gossipless: removed \`multicast\` (UDP multicast group; the shim finds peers through Azure Storage, not UDP)\n});\n`;

let root: string;
let target: string;

function put(relative: string, text: string): string {
  const file = path.join(target, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

function read(relative: string): string {
  return readFileSync(path.join(target, relative), 'utf8');
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'gossipless-migrate-'));
  target = path.join(root, 'repo');
  mkdirSync(target);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('migrate runner on a real tree', () => {
  it('writes nothing in a dry run, and says what it would change', async () => {
    put('src/cluster.ts', LEGACY);
    put('src/other.ts', 'export const x = 1;\n');
    const before = statSync(path.join(target, 'src/cluster.ts')).mtimeMs;

    const report = await migrate({ targetDir: target });

    expect(read('src/cluster.ts')).toBe(LEGACY);
    expect(statSync(path.join(target, 'src/cluster.ts')).mtimeMs).toBe(before);
    expect(report.counts).toMatchObject({ files: 2, changed: 1, unchanged: 1, skipped: 0, errors: 0 });
    expect(report.files[0]).toMatchObject({ path: 'src/cluster.ts', status: 'changed' });
    expect(report.files[0]!.diff).toContain(
      "+import Discover from '@gossipless/runtime/shims/node-discover';",
    );
    expect(report.files[0]!.written).toBeUndefined();
  });

  it('writes atomically with --write (new inode, same mode, no temporary file left) and a second run is a no-op', async () => {
    const file = put('src/cluster.ts', LEGACY);
    chmodSync(file, 0o640);
    const inodeBefore = statSync(file).ino;

    const first = await migrate({ targetDir: target, write: true });
    expect(first.files[0]).toMatchObject({ path: 'src/cluster.ts', status: 'changed', written: true });
    expect(read('src/cluster.ts')).toBe(MIGRATED);
    const after = statSync(file);
    expect(after.mode & 0o777).toBe(0o640);
    // Replaced by rename of a temporary file, not rewritten in place.
    expect(after.ino).not.toBe(inodeBefore);
    expect(readdirSync(path.join(target, 'src'))).toEqual(['cluster.ts']);

    const second = await migrate({ targetDir: target, write: true });
    expect(second.counts.changed).toBe(0);
    expect(second.files).toEqual([]);
    expect(statSync(file).mtimeMs).toBe(after.mtimeMs);
  });

  it('skips and reports a file that does not parse, and never writes it', async () => {
    const broken = `import Discover from 'node-discover';\nconst = ;\n`;
    put('src/broken.ts', broken);
    put('src/good.ts', LEGACY);

    const report = await migrate({ targetDir: target, write: true });

    expect(read('src/broken.ts')).toBe(broken);
    expect(read('src/good.ts')).toBe(MIGRATED);
    const skipped = report.files.find((file) => file.path === 'src/broken.ts');
    expect(skipped).toMatchObject({ status: 'skipped' });
    expect(skipped!.reason).toMatch(/^does not parse \(line 2: /);
    expect(report.counts.skipped).toBe(1);
  });

  it('does not follow symbolic links out of the target and writes nothing outside it', async () => {
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'legacy.ts'), LEGACY);
    symlinkSync(path.join(outside, 'legacy.ts'), path.join(target, 'linked.ts'));
    symlinkSync(outside, path.join(target, 'linked-dir'));
    put('src/cluster.ts', LEGACY);

    const report = await migrate({ targetDir: target, write: true });

    expect(readFileSync(path.join(outside, 'legacy.ts'), 'utf8')).toBe(LEGACY);
    expect(readdirSync(outside)).toEqual(['legacy.ts']);
    expect(readdirSync(root).sort()).toEqual(['outside', 'repo']);
    expect(report.files.filter((file) => file.status === 'skipped')).toEqual([
      { path: 'linked-dir', status: 'skipped', reason: 'symbolic link to outside the target: not followed' },
      { path: 'linked.ts', status: 'skipped', reason: 'symbolic link to outside the target: not followed' },
    ]);
    expect(read('src/cluster.ts')).toBe(MIGRATED);
  });

  it('refuses to write through a directory that became a link out of the target', async () => {
    put('src/cluster.ts', LEGACY);
    const report = await migrate({ targetDir: target });
    // Between planning and writing, src is swapped for a link to a directory outside the target.
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'cluster.ts'), LEGACY);
    rmSync(path.join(target, 'src'), { recursive: true });
    symlinkSync(outside, path.join(target, 'src'));
    const { writeFileAtomic } = await import('../../codemods/migrate/atomic-write.js');
    await expect(
      writeFileAtomic(report.target, path.join(report.target, 'src/cluster.ts'), 'x'),
    ).rejects.toMatchObject({
      code: 'OUTSIDE_TARGET',
    });
    expect(readFileSync(path.join(outside, 'cluster.ts'), 'utf8')).toBe(LEGACY);
  });

  it('keeps CRLF line endings and the quotes of the original', async () => {
    const crlf = `import Discover from "node-discover";\r\n\r\nexport const d = new Discover({\r\n  port: 1,\r\n  unicast: "10.0.0.1",\r\n});\r\n`;
    put('src/windows.ts', crlf);

    await migrate({ targetDir: target, write: true });

    const text = read('src/windows.ts');
    expect(text).toContain('from "@gossipless/runtime/shims/node-discover";\r\n');
    expect(text.match(/\r\n/g)).toHaveLength(crlf.match(/\r\n/g)!.length);
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
  });

  it('honours .gitignore (at any level) and never enters node_modules', async () => {
    put('.gitignore', 'generated/\n*.gen.ts\n');
    put('packages/a/.gitignore', 'local.ts\n');
    put('generated/client.ts', LEGACY);
    put('src/api.gen.ts', LEGACY);
    put('packages/a/local.ts', LEGACY);
    put('packages/a/kept.ts', LEGACY);
    put('node_modules/some-lib/index.js', LEGACY);

    const report = await migrate({ targetDir: target, write: true });

    expect(report.counts.files).toBe(1);
    expect(read('packages/a/kept.ts')).toBe(MIGRATED);
    for (const untouched of [
      'generated/client.ts',
      'src/api.gen.ts',
      'packages/a/local.ts',
      'node_modules/some-lib/index.js',
    ]) {
      expect(read(untouched)).toBe(LEGACY);
    }
  });

  it('deletes a declaration file that held only a legacy stub', async () => {
    put('types/node-discover.d.ts', "declare module 'node-discover';\n");
    const report = await migrate({ targetDir: target, write: true });
    expect(report.files[0]).toMatchObject({
      path: 'types/node-discover.d.ts',
      status: 'deleted',
      written: true,
    });
    expect(readdirSync(path.join(target, 'types'))).toEqual([]);
  });

  it('writes gossipless.rate-limits.json from config-mapped limiters, valid and stable across runs', async () => {
    put(
      'gossipless.config.json',
      JSON.stringify({
        modules: [
          {
            from: './src/lib/limiter',
            to: '@gossipless/runtime/shims/crdt-rate-limiter',
            exports: { GossipLimiter: 'CrdtRateLimiter' },
            constructorExport: 'GossipLimiter',
            options: { rename: { max: 'limit', intervalMs: 'windowMs' } },
          },
        ],
      }),
    );
    put(
      'src/api.ts',
      `import { GossipLimiter } from './lib/limiter.js';\nconst SECOND = 1000;\nexport const apiLimiter = new GossipLimiter({ max: 50, intervalMs: 30 * SECOND });\n` +
        `export const check = (req: { ip: string }) => apiLimiter.tryConsume(req.ip);\n`,
    );

    const first = await migrate({ targetDir: target, write: true });
    const rules = JSON.parse(read('gossipless.rate-limits.json'));
    expect(validateRateLimitsDocument(rules)).toEqual([]);
    expect(rules).toEqual({
      rules: [{ name: 'api-limiter', limit: 50, window: '30s', key: 'ip', source: 'src/api.ts:3' }],
    });
    expect(first.rateLimits).toMatchObject({ found: 1, alreadyPresent: 0 });
    expect(read('src/api.ts')).toContain(
      `import { CrdtRateLimiter as GossipLimiter } from '@gossipless/runtime/shims/crdt-rate-limiter';`,
    );

    const rulesStat = statSync(path.join(target, 'gossipless.rate-limits.json'));
    const second = await migrate({ targetDir: target, write: true });
    expect(second.counts.changed).toBe(0);
    expect(second.rateLimits).toMatchObject({ found: 1, added: [], alreadyPresent: 1 });
    expect(statSync(path.join(target, 'gossipless.rate-limits.json')).mtimeMs).toBe(rulesStat.mtimeMs);
  });

  it('reports a config file that does not validate, naming the file and the problem', async () => {
    put('gossipless.config.json', JSON.stringify({ modules: [{ from: 'x' }], extra: 1 }));
    await expect(migrate({ targetDir: target })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(
        /gossipless\.config\.json is not a valid gossipless config: .*unknown key "extra".*must have required property 'to'/,
      ),
    });
  });

  it('leaves a file that changed on disk while it ran', async () => {
    put('src/cluster.ts', LEGACY);
    const report = migrate({
      targetDir: target,
      write: true,
      onProgress: () => writeFileSync(path.join(target, 'src/cluster.ts'), LEGACY + '// edited\n'),
    });
    const result = await report;
    expect(result.files[0]).toMatchObject({ status: 'error' });
    expect(result.files[0]!.reason).toContain('changed on disk');
    expect(read('src/cluster.ts')).toBe(LEGACY + '// edited\n');
  });
});

describe('git working tree status', () => {
  it('lists uncommitted changes under the target', async () => {
    const { gitWorkingTreeStatus } = await import('../../codemods/migrate/index.js');
    expect(await gitWorkingTreeStatus(target)).toEqual({ repository: false, changes: [] });
    execFileSync('git', ['init', '-q'], { cwd: target });
    put('a.ts', 'x');
    const status = await gitWorkingTreeStatus(target);
    expect(status.repository).toBe(true);
    expect(status.changes).toEqual(['?? a.ts']);
  });
});
