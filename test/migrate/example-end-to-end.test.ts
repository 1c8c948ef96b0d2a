import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { memoryIo } from '../../src/cli/io.js';
import { uniqueName } from '../helpers/storage.js';

const run = promisify(execFile);
const root = path.resolve(fileURLToPath(import.meta.url), '../../..');
let work = '';
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('migrating the legacy example end to end', () => {
  it('migrates examples/legacy-auth-service, compiles it with tsc against the shims, and runs it as master on Azurite', async () => {
    work = await mkdtemp(path.join(tmpdir(), 'gossipless-e2e-'));
    const service = path.join(work, 'legacy-auth-service');
    await cp(path.join(root, 'examples/legacy-auth-service'), service, {
      recursive: true,
      filter: (source) => !/[\\/](dist|node_modules)$/.test(source),
    });
    const io = memoryIo({ cwd: work });
    const code = await runCli(['migrate', service, '--write', '--json'], io);
    expect([0, 1], io.err).toContain(code);
    const discovery = await readFile(path.join(service, 'src/cluster/discovery.ts'), 'utf8');
    expect(discovery).toContain("from '@gossipless/runtime/shims/node-discover'");
    expect(discovery).not.toMatch(/^\s*multicast:/m);
    const rules = JSON.parse(await readFile(path.join(service, 'gossipless.rate-limits.json'), 'utf8')) as {
      rules: unknown[];
    };
    expect(rules.rules).toHaveLength(1);

    // The runtime as installed (built by `npm ci`) and the Node types.
    await mkdir(path.join(service, 'node_modules/@types'), { recursive: true });
    await mkdir(path.join(service, 'node_modules/@gossipless'), { recursive: true });
    await symlink(
      path.join(root, 'packages/runtime'),
      path.join(service, 'node_modules/@gossipless/runtime'),
      'dir',
    );
    await symlink(
      path.join(root, 'node_modules/@types/node'),
      path.join(service, 'node_modules/@types/node'),
      'dir',
    );
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const compiled = await run(process.execPath, [tsc, '-p', service]).catch(
      (error: { stdout?: string }) => error,
    );
    expect('stdout' in compiled ? compiled.stdout : '').toBe('');

    const child = spawn(process.execPath, [path.join(service, 'dist/main.js')], {
      env: {
        ...process.env,
        AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
        GOSSIPLESS_CLUSTER: uniqueName('e2e'),
        REPLICA_ID: 'only',
        SWEEP_EVERY_MS: '500',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const sweep = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no sweep within 20 s')), 20_000);
        let buffer = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          for (const line of buffer.split('\n')) {
            if (line.includes('"sweep"')) {
              clearTimeout(timer);
              resolve(JSON.parse(line) as Record<string, unknown>);
            }
          }
        });
        child.once('exit', (exitCode) => reject(new Error(`the service exited with ${exitCode}`)));
      });
      expect(sweep).toMatchObject({ event: 'sweep', replicaId: 'only' });
    } finally {
      child.kill('SIGKILL');
    }
  }, 240_000);
});
