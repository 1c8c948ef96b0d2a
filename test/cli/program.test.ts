import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/** Runs the CLI from source in its own process; returns the exit code and the modules it loaded. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; loaded: string[] }> {
  const argv = [
    '--import',
    'tsx',
    '--import',
    join(root, 'test/helpers/record-module-loads.mjs'),
    join(root, 'src/cli/bin.ts'),
    ...args,
  ];
  const result = await run(process.execPath, argv, { cwd: root }).then(
    (done) => ({ ...done, code: 0 }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  const loaded = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('module-loaded '))
    .map((line) => line.slice('module-loaded '.length));
  return { code: result.code, stdout: result.stdout, loaded };
}

const loads = (loaded: string[], path: string): boolean => loaded.some((url) => url.includes(path));
const OTHER_COMMANDS = ['dev', 'demo', 'status', 'edge', 'migrate'];

describe('the CLI loads what the command needs (start-up is most of a lint run in CI)', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'gossipless-cli-loads-'));
    mkdirSync(join(scratch, 'empty'));
    mkdirSync(join(scratch, 'service'));
    writeFileSync(
      join(scratch, 'service', 'discovery.js'),
      "const dgram = require('dgram');\nconst s = dgram.createSocket('udp4');\n" +
        "s.bind(5353, () => {\n  try {\n    s.addMembership('239.1.1.1');\n  } catch (err) {}\n});\n",
    );
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('`lint` on a tree without discovery loads neither the other commands nor the TypeScript compiler', async () => {
    const { code, loaded } = await cli(['lint', join(scratch, 'empty')]);
    expect(code).toBe(0);
    expect(loads(loaded, 'src/cli/commands/lint.ts')).toBe(true);
    for (const command of OTHER_COMMANDS) expect(loads(loaded, `src/cli/commands/${command}.ts`)).toBe(false);
    expect(loads(loaded, 'codemods/syntax/load-typescript.cjs')).toBe(false);
  }, 120_000);

  it('`lint` loads the compiler (through require) once a file passes the pre-filter', async () => {
    const { code, stdout, loaded } = await cli(['lint', join(scratch, 'service')]);
    expect(stdout).toContain('no-self-disabling-discovery');
    expect(code).toBe(0); // an empty catch is a warning
    expect(loads(loaded, 'codemods/syntax/load-typescript.cjs')).toBe(true);
    // The 9 MB compiler itself is required, not imported: an ES import would make Node scan it first.
    expect(loads(loaded, '@ts-morph/common/dist/typescript.js')).toBe(false);
  }, 120_000);

  it('`--help` still lists every command', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    for (const command of [...OTHER_COMMANDS, 'lint'])
      expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  }, 120_000);
});
