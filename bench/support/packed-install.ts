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
  // Scripts run: the toolkit's prepack/postpack take `prepare` out of the packed manifest (scripts/
  // publish-manifest.mjs) and, with it gone, npm does not rebuild dist/ (the build already ran in npm ci).
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: dir,
  });
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
