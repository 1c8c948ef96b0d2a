import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installIntoEmptyProject, packPackage } from '../../bench/support/packed-install.js';

// What a user gets from the registry: both packages packed as `npm publish` would pack them, installed
// into empty projects, then run from there. A file missing from a package fails here, not for users.
const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const HEAVY = ['azurite', 'ts-morph', 'typescript', 'commander'];

let work: string;
let runtimeTarball: string;
let toolkitTarball: string;

async function newProject(name: string, tarballs: string[]): Promise<string> {
  const dir = join(work, name);
  await installIntoEmptyProject(dir, tarballs);
  return dir;
}

function gossipless(cwd: string, args: string[], timeoutMs = 60_000) {
  return exec(join(cwd, 'node_modules/.bin/gossipless'), args, {
    cwd,
    timeout: timeoutMs,
    env: { ...process.env, NO_COLOR: '1', AZURE_STORAGE_CONNECTION_STRING: '' },
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

beforeAll(async () => {
  if (
    !existsSync(join(root, 'dist/src/cli/bin.js')) ||
    !existsSync(join(root, 'packages/runtime/dist/src/index.js'))
  ) {
    await exec('npm', ['run', 'build'], { cwd: root });
  }
  work = await mkdtemp(join(tmpdir(), 'gossipless-packed-'));
  runtimeTarball = await packPackage(join(root, 'packages/runtime'), work);
  toolkitTarball = await packPackage(root, work);
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the runtime, installed alone from its tarball', () => {
  let project: string;
  beforeAll(async () => {
    project = await newProject('service', [runtimeTarball]);
  }, 300_000);

  it('brings none of the toolkit: no azurite, ts-morph, typescript or commander', async () => {
    const installed = await readdir(join(project, 'node_modules'));
    for (const name of HEAVY) expect(installed, name).not.toContain(name);
  });

  it('loads the core API (ESM) and every shim (ESM and CommonJS)', async () => {
    const script = `
      const core = await import('@gossipless/runtime');
      const { createRequire } = await import('node:module');
      const require = createRequire(import.meta.url);
      const shims = ['node-discover', 'swim', 'crdt-rate-limiter'];
      const esm = await Promise.all(shims.map((s) => import('@gossipless/runtime/shims/' + s)));
      const cjs = shims.map((s) => require('@gossipless/runtime/shims/' + s));
      console.log(JSON.stringify({
        createCluster: typeof core.createCluster,
        errors: typeof (await import('@gossipless/runtime/errors')).GossiplessError,
        esm: esm.map((m) => typeof m.default),
        cjs: cjs.map((m) => typeof m),
      }));`;
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      createCluster: 'function',
      errors: 'function',
      esm: ['function', 'function', 'function'],
      cjs: ['function', 'function', 'function'],
    });
  });
});

describe('the toolkit, installed from both tarballs', () => {
  let project: string;
  beforeAll(async () => {
    project = await newProject('operator', [runtimeTarball, toolkitTarball]);
  }, 300_000);

  it('uses the runtime it was installed with, not a copy of its own', async () => {
    const toolkit = join(project, 'node_modules/gossipless');
    expect(existsSync(join(toolkit, 'dist/src/lease'))).toBe(false);
    expect(existsSync(join(toolkit, 'node_modules/@gossipless/runtime'))).toBe(false);
  });

  it('runs nothing at a user install: no install scripts in either manifest; the checkout keeps its prepare', async () => {
    // npm 11 lists a published `prepare` at every install (allowScripts) and npm 12 blocks it.
    const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];
    for (const name of ['gossipless', '@gossipless/runtime']) {
      const manifest = JSON.parse(
        await readFile(join(project, 'node_modules', name, 'package.json'), 'utf8'),
      ) as { scripts?: Record<string, string> };
      expect(
        Object.keys(manifest.scripts ?? {}).filter((script) => INSTALL_SCRIPTS.includes(script)),
      ).toEqual([]);
    }
    const checkout = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(checkout.scripts.prepare).toBe('npm run build');
    expect(existsSync(join(root, 'package.json.before-pack'))).toBe(false);
  });

  it('lint finds the self-disabling catch in the shipped example (exit 1)', async () => {
    const example = join(project, 'node_modules/gossipless/examples/legacy-auth-service');
    const result = await gossipless(project, ['lint', join(example, 'src'), '--format', 'json']);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { findings: unknown[] }).findings.length).toBeGreaterThan(0);
  });

  it('migrate rewrites a copy of the example onto the runtime (dry run, exit 1: changes pending)', async () => {
    const copy = join(work, 'legacy-copy');
    await cp(join(project, 'node_modules/gossipless/examples/legacy-auth-service'), copy, {
      recursive: true,
    });
    const result = await gossipless(project, ['migrate', copy, '--force']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("from '@gossipless/runtime/shims/node-discover'");
  });

  it('edge writes an nginx config from a rules file', async () => {
    const rules = join(work, 'rules.json');
    await writeFile(
      rules,
      JSON.stringify([{ name: 'login', limit: 10, window: '1m', key: 'ip', match: { path: '/login' } }]),
    );
    const out = join(work, 'edge-out');
    const result = await gossipless(project, ['edge', rules, '--target', 'nginx', '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('login');
  });

  it('demo runs the whole story from the installed packages and exits 0', async () => {
    const report = join(work, 'demo-report');
    const result = await gossipless(project, ['demo', '--report', report, '--json'], 240_000);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(await readFile(join(report, 'summary.json'), 'utf8')) as {
      storyHeld: boolean;
    };
    expect(summary.storyHeld).toBe(true);
  }, 300_000);
});
