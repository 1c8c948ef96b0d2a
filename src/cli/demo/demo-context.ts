import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '@gossipless/runtime';
import { GossiplessError } from '@gossipless/runtime/errors';
import type { ReplicaProcess } from './replica-process.js';
import { transpileProject } from './transpile-project.js';

/** Replicas per run, before and after the migration. */
export const REPLICAS = 3;

/** What every phase of the demo shares. */
export interface DemoContext {
  say: (line: string) => void;
  everyMs: number;
  signal: AbortSignal | undefined;
  /** The gossipless package root (for the example and to link `gossipless` into the copy). */
  root: string;
  /** The example service's folder in the package. */
  example: string;
  /** The run's temp folder. */
  work: string;
  /** Environment of every replica: the caller's, without storage settings. */
  baseEnv: NodeJS.ProcessEnv;
  /** Every replica started, so the run can kill what is left whatever happens. */
  replicas: ReplicaProcess[];
  /** Undone in reverse order at the end (namespaces, Azurite). */
  cleanups: Array<() => Promise<void>>;
  /** Why the story did not hold, in words. */
  problems: string[];
  /** How the legacy replicas are kept apart. */
  isolation: 'auto' | 'netns' | 'ports';
}

/** The package root: the nearest folder up from here whose package.json is gossipless's. */
export async function packageRoot(): Promise<string> {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (
      existsSync(file) &&
      (JSON.parse(await readFile(file, 'utf8')) as { name?: string }).name === 'gossipless'
    ) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new GossiplessError('INTERNAL', 'cannot find the gossipless package root from the demo module');
    }
    dir = parent;
  }
}

/** The folder of an installed package, or an error saying how to install it. */
export function resolvePackageDir(root: string, name: string, why: string): string {
  try {
    return path.dirname(createRequire(path.join(root, 'package.json')).resolve(`${name}/package.json`));
  } catch {
    throw new GossiplessError(
      'NOT_STARTED',
      `the demo needs the package "${name}" (${why}); run \`npm ci\` in ${root} to install it`,
    );
  }
}

/** Copies the example without its build output or installed packages. */
export async function copyExample(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true, filter: (source) => !/[\\/](dist|node_modules)$/.test(source) });
}

/** Transpiles a copy and links the packages it imports into its node_modules. */
export async function linkAndBuild(dir: string, links: Record<string, string>): Promise<void> {
  await transpileProject(path.join(dir, 'src'), path.join(dir, 'dist'));
  await mkdir(path.join(dir, 'node_modules'), { recursive: true });
  for (const [name, target] of Object.entries(links)) {
    const link = path.join(dir, 'node_modules', name);
    await mkdir(path.dirname(link), { recursive: true });
    await rm(link, { force: true, recursive: true });
    await symlink(target, link, 'dir');
  }
}

/** Polls until `predicate` holds; a time-out or an interrupt ends the demo with a clear error. */
export async function waitUntil(
  context: DemoContext,
  what: string,
  predicate: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (context.signal?.aborted) throw new GossiplessError('ABORTED', 'the demo was interrupted');
    if (Date.now() > deadline)
      throw new GossiplessError('INTERNAL', `the demo timed out waiting for ${what}`);
    await sleep(25);
  }
}
