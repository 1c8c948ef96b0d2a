/**
 * Packing and installing the two packages as a user gets them from the registry: shared by
 * bench/install-size.ts and test/package/packed-install.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** `npm pack` of the package in `dir` into `destination`; returns the tarball's path. */
export async function packPackage(dir: string, destination: string): Promise<string> {
  // --ignore-scripts: the build already ran (npm ci's prepare); packing must not rebuild into dist.
  const { stdout } = await exec(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', destination],
    {
      cwd: dir,
    },
  );
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  return join(destination, filename);
}

/** Creates the empty project `dir` and installs `specs` (tarballs or registry specs) into it. */
export async function installIntoEmptyProject(dir: string, specs: string[]): Promise<void> {
  await mkdir(dir);
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'empty-project', private: true, type: 'module' }),
  );
  await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  });
}
