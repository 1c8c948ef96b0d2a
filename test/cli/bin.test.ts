import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version/index.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

describe('the gossipless bin in a checkout', () => {
  // `npx gossipless …` in the checkout (the README's first command) executes the bin file itself.
  it('is executable as built by npm ci, and answers --version', async () => {
    const { stdout } = await run(join(root, 'dist/src/cli/bin.js'), ['--version']);
    expect(stdout.trim()).toBe(VERSION);
  });

  it('runs through npx from the checkout', async () => {
    const { stdout } = await run('npx', ['--no-install', 'gossipless', '--help'], { cwd: root });
    expect(stdout).toContain('Usage: gossipless');
  }, 240_000);
});
