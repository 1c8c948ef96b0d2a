import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, stat, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';

// Real consumers: tiny projects in temp dirs that depend on the runtime package (symlinked), compiled by
// the real tsc under each moduleResolution legacy repos use, then run by node in a child process.
const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

async function newest(dir: string): Promise<number> {
  let latest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      latest = Math.max(latest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
    }
  }
  return latest;
}

beforeAll(async () => {
  // `npm ci` builds through `prepare`; rebuild here only when dist is missing or older than the sources.
  const built = await stat(join(root, 'packages/runtime/dist/cjs/shims/node-discover/index.cjs')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = Math.max(await newest(join(root, 'src')), await newest(join(root, 'shims')));
  if (built < sources) await run('npm', ['run', 'build'], { cwd: root });
}, 180_000);

const CJS_SOURCE = (cs: string) => `
import Discover = require('@gossipless/runtime/shims/node-discover');
import Swim = require('@gossipless/runtime/shims/swim');
import CrdtRateLimiter = require('@gossipless/runtime/shims/crdt-rate-limiter');
import Democracy = require('@gossipless/runtime/shims/democracy');
const gossipless = { cluster: 'package-exports', storage: { connectionString: ${JSON.stringify(cs)} } };
const options: Discover.DiscoverOptions = { start: false, port: 4100, gossipless };
const called = Discover(options);
const constructed = new Discover(options);
const weight: number = Discover.weight();
// @ts-expect-error port is a number: proves the types are real, not any
const typeCheckOnly = () => Discover({ start: false, port: 'x', gossipless });
void typeCheckOnly;
const swim: Swim.Swim = new Swim({ local: { host: '127.0.0.1:11000' }, gossipless });
const dem: Democracy.Democracy = new Democracy({ id: 'exports', gossipless });
// @ts-expect-error interval is a number
const demTypeCheckOnly = () => new Democracy({ interval: 'x', gossipless });
void demTypeCheckOnly;
const limiter = new CrdtRateLimiter({ limit: 1, windowMs: 1000, initialMembers: 1, start: false, gossipless });
const { CrdtRateLimiter: Named } = CrdtRateLimiter;
const allowed: boolean = limiter.tryConsume('k');
console.log(JSON.stringify({
  called: called instanceof Discover, constructed: constructed instanceof Discover,
  weight: typeof weight, elector: typeof Discover.BasicLeadershipElection,
  swim: swim.whoami(), change: Swim.EventType.Change, allowed, second: limiter.tryConsume('k'),
  named: Named === CrdtRateLimiter, democracy: dem.nodes()['exports']?.state,
}));
void dem.stop();
`;

const ESM_SOURCE = (cs: string) => `
import Discover from '@gossipless/runtime/shims/node-discover';
import type { DiscoverOptions } from '@gossipless/runtime/shims/node-discover';
import Swim from '@gossipless/runtime/shims/swim';
import { CrdtRateLimiter } from '@gossipless/runtime/shims/crdt-rate-limiter';
import Democracy from '@gossipless/runtime/shims/democracy';
const gossipless = { cluster: 'package-exports', storage: { connectionString: ${JSON.stringify(cs)} } };
const options: DiscoverOptions = { start: false, port: 4100, gossipless };
const called = Discover(options);
const constructed = new Discover(options);
const weight: number = Discover.weight();
// @ts-expect-error port is a number: proves the types are real, not any
const typeCheckOnly = () => Discover({ start: false, port: 'x', gossipless });
void typeCheckOnly;
const swim = new Swim({ local: { host: '127.0.0.1:11000' }, gossipless });
const dem = new Democracy({ id: 'exports', gossipless });
// @ts-expect-error interval is a number
const demTypeCheckOnly = () => new Democracy({ interval: 'x', gossipless });
void demTypeCheckOnly;
const limiter = new CrdtRateLimiter({ limit: 1, windowMs: 1000, initialMembers: 1, start: false, gossipless });
const allowed: boolean = limiter.tryConsume('k');
console.log(JSON.stringify({
  called: called instanceof Discover, constructed: constructed instanceof Discover,
  weight: typeof weight, elector: typeof Discover.BasicLeadershipElection,
  swim: swim.whoami(), change: Swim.EventType.Change, allowed, second: limiter.tryConsume('k'),
  named: true, democracy: dem.nodes()['exports']?.state,
}));
void dem.stop();
`;

const EXPECTED = {
  called: true,
  constructed: true,
  weight: 'number',
  elector: 'function',
  swim: '127.0.0.1:11000',
  change: 'change',
  allowed: true,
  second: false,
  named: true,
  democracy: 'citizen',
};

async function consumer(
  name: string,
  type: 'commonjs' | 'module',
  compilerOptions: Record<string, unknown>,
  source: string,
): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), `gossipless-${name}-`));
  try {
    await mkdir(join(dir, 'node_modules/@gossipless'), { recursive: true });
    await symlink(join(root, 'packages/runtime'), join(dir, 'node_modules/@gossipless/runtime'), 'dir');
    await symlink(root, join(dir, 'node_modules/gossipless'), 'dir'); // the toolkit's lint/migrate entries
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, type }));
    await writeFile(join(dir, 'index.ts'), source);
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          outDir: 'out',
          // Our .d.ts/.d.cts are still checked where used: an unresolved type would be any and
          // the @ts-expect-error below would then fail the build.
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
          ...compilerOptions,
        },
        files: ['index.ts'],
      }),
    );
    await run(process.execPath, [tsc, '-p', dir]).catch((error: { stdout?: string }) => {
      throw new Error(`tsc (${name}) failed:\n${error.stdout ?? String(error)}`);
    });
    const { stdout } = await run(process.execPath, [join(dir, 'out/index.js')], { cwd: dir });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('package exports of the shims', () => {
  const cs = () => inject('azuriteConnectionString');

  it('CommonJS require under moduleResolution node10 (typesVersions, tool entries too), esModuleInterop default import too', async () => {
    const source = `${CJS_SOURCE(cs())}
import DiscoverDefault from '@gossipless/runtime/shims/node-discover';
// typesVersions must not hide the root entry's types from node10 consumers.
import type { ClusterOptions } from '@gossipless/runtime';
const clusterOptions: ClusterOptions = { cluster: 'x' };
void clusterOptions;
// The tool entries' types too (a build script or an ESLint config written in a node10 repo).
import type { Severity } from 'gossipless/lint';
import type { MigrateConfig } from 'gossipless/migrate';
import type eslintPlugin from 'gossipless/eslint-plugin';
const severity: Severity = 'warning';
// @ts-expect-error not a severity: the lint entry's types are real
const notSeverity: Severity = 'fatal';
const migrateConfig: MigrateConfig = { modules: [] };
type PluginRules = keyof (typeof eslintPlugin)['rules'];
const rule: PluginRules = 'no-self-disabling-discovery';
void [severity, notSeverity, migrateConfig, rule];
if (DiscoverDefault !== Discover) throw new Error('default import differs from require');
`;
    expect(
      await consumer(
        'node10',
        'commonjs',
        { module: 'commonjs', moduleResolution: 'node', esModuleInterop: true },
        source,
      ),
    ).toEqual(EXPECTED);
  }, 120_000);

  it('CommonJS require under node16 and ESM import under nodenext', async () => {
    const [cjs, esm] = await Promise.all([
      consumer('node16', 'commonjs', { module: 'node16', moduleResolution: 'node16' }, CJS_SOURCE(cs())),
      consumer('nodenext', 'module', { module: 'nodenext', moduleResolution: 'nodenext' }, ESM_SOURCE(cs())),
    ]);
    expect(cjs).toEqual(EXPECTED);
    expect(esm).toEqual(EXPECTED);
  }, 120_000);

  it('ESM under moduleResolution bundler', async () => {
    expect(
      await consumer(
        'bundler',
        'module',
        { module: 'esnext', moduleResolution: 'bundler' },
        ESM_SOURCE(cs()),
      ),
    ).toEqual(EXPECTED);
  }, 120_000);
});
