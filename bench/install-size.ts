/**
 * What a service installs, and what an operator installs: both packages packed as `npm publish`
 * packs them, installed into empty projects, measured against the anchor a service pays anyway —
 * the Azure SDK alone (the three clients the runtime uses, at the versions it asks for).
 *
 *   npm run bench:install-size
 *
 * Prints bytes on disk and package counts of node_modules, and checks that the runtime brings
 * none of the toolkit's heavy dependencies. Installs go to a temp folder (registry or npm cache).
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { installIntoEmptyProject, packPackage } from './support/packed-install.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const HEAVY = ['azurite', 'ts-morph', 'typescript', 'commander'];

interface Footprint {
  bytes: number;
  packages: number;
  heavy: string[];
}

async function footprint(nodeModules: string): Promise<Footprint> {
  let bytes = 0;
  let packages = 0;
  for (const entry of await readdir(nodeModules, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile()) {
      bytes += (await stat(path)).size;
      // A package is a folder right under node_modules (or a scope) with a package.json.
      if (entry.name === 'package.json' && /node_modules\/(@[^/]+\/)?[^/@]+$/.test(entry.parentPath))
        packages++;
    }
  }
  const top = await readdir(nodeModules);
  return { bytes, packages, heavy: HEAVY.filter((name) => top.includes(name)) };
}

async function install(work: string, name: string, specs: string[]): Promise<Footprint> {
  const dir = join(work, name);
  await installIntoEmptyProject(dir, specs);
  return footprint(join(dir, 'node_modules'));
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

const work = await mkdtemp(join(tmpdir(), 'gossipless-install-size-'));
try {
  const runtimeManifest = JSON.parse(await readFile(join(root, 'packages/runtime/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  // The anchor is the Azure SDK only; what the runtime adds beyond it (@opentelemetry/api) is its cost.
  const sdkSpecs = Object.entries(runtimeManifest.dependencies)
    .filter(([name]) => name.startsWith('@azure/'))
    .map(([name, range]) => `${name}@${range}`);
  const runtimeTarball = await packPackage(join(root, 'packages/runtime'), work);
  const toolkitTarball = await packPackage(root, work);

  const sdk = await install(work, 'azure-sdk-alone', sdkSpecs);
  const runtime = await install(work, 'runtime', [runtimeTarball]);
  const toolkit = await install(work, 'toolkit', [runtimeTarball, toolkitTarball]);

  const rows: Array<[string, Footprint, string]> = [
    ['Azure SDK alone (anchor)', sdk, '–'],
    [
      '@gossipless/runtime',
      runtime,
      `+${mb(runtime.bytes - sdk.bytes)}, +${runtime.packages - sdk.packages} packages`,
    ],
    [
      'gossipless (toolkit) + runtime',
      toolkit,
      `+${mb(toolkit.bytes - sdk.bytes)}, +${toolkit.packages - sdk.packages} packages`,
    ],
  ];
  console.log(
    '| install into an empty project | node_modules | packages | over the Azure SDK alone | heavy (azurite, ts-morph, typescript, commander) |',
  );
  console.log('|---|---:|---:|---|---|');
  for (const [label, f, delta] of rows) {
    console.log(`| ${label} | ${mb(f.bytes)} | ${f.packages} | ${delta} | ${f.heavy.join(', ') || 'none'} |`);
  }
  const budget = 5e6;
  const ok = runtime.bytes - sdk.bytes <= budget && runtime.heavy.length === 0;
  console.log(
    `\nruntime over the SDK: ${mb(runtime.bytes - sdk.bytes)} (budget ${mb(budget)}), heavy: ${runtime.heavy.join(', ') || 'none'} → ${ok ? 'within budget' : 'OVER BUDGET'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
