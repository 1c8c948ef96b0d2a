import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import AjvDraft04Module from 'ajv-draft-04';
import type * as Sarif from 'sarif';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { memoryIo } from '../../src/cli/io.js';
import { applySuppressions, lintFiles, mightContainDiscovery } from '../../codemods/lint/index.js';

const require = createRequire(import.meta.url);
// ajv-draft-04 is CommonJS: under NodeNext its default import is `module.exports`, whose `default` is the class.
const AjvDraft04 = AjvDraft04Module.default;

const FALLS_BACK = `import { createSocket } from 'node:dgram';
export const state = { isLeader: false };
const socket = createSocket('udp4');
socket.bind(5353, () => {
  try {
    socket.addMembership('239.1.1.1');
  } catch (err) {
    state.isLeader = true;
  }
});
`;
const ONLY_LOGS = `const Swim = require('swim');
const swim = new Swim({ local: { host: '127.0.0.1:7946' } });
swim.bootstrap([], function (err) {
  if (err) {
    console.warn('bootstrap failed', err);
  }
});
`;
const SUPPRESSED = `import dgram from 'dgram';
const socket = dgram.createSocket('udp4');
try {
  socket.setBroadcast(true);
  // gossipless-disable-next-line no-self-disabling-discovery -- lab tool, runs on one laptop only
} catch {}
`;
const UNREASONED = `import dgram from 'dgram';
const socket = dgram.createSocket('udp4');
try {
  socket.setBroadcast(true);
  // gossipless-disable-next-line no-self-disabling-discovery
} catch {}
`;
const CLEAN = `export function add(a: number, b: number): number {
  return a + b;
}
`;

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

describe('gossipless lint (runner and CLI)', () => {
  let repo: string;
  let warningsOnly: string;
  let clean: string;

  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'gossipless-lint-'));
    mkdirSync(join(repo, '.git'));
    write(repo, '.gitignore', 'generated/\n*.gen.ts\n');
    write(repo, 'src/membership.ts', FALLS_BACK);
    write(repo, 'src/legacy/swim-start.js', ONLY_LOGS);
    write(
      repo,
      'src/broken-discovery.ts',
      'import dgram from "dgram";\nconst socket = dgram.createSocket(\n',
    );
    write(repo, 'src/broken-but-unrelated.ts', 'export const x = (;\n');
    write(repo, 'src/suppressed.ts', SUPPRESSED);
    write(repo, 'src/unreasoned.ts', UNREASONED);
    write(repo, 'src/math.ts', CLEAN);
    write(repo, 'src/notes.md', FALLS_BACK);
    write(repo, 'src/sub/.gitignore', 'local-*.ts\n');
    write(repo, 'src/sub/local-override.ts', FALLS_BACK);
    write(repo, 'src/sub/kept.mjs', ONLY_LOGS);
    write(repo, 'generated/membership.ts', FALLS_BACK);
    write(repo, 'src/membership.gen.ts', FALLS_BACK);
    write(repo, 'node_modules/legacy-discovery/index.js', FALLS_BACK);
    write(repo, 'src/node_modules/nested/index.ts', FALLS_BACK);

    warningsOnly = mkdtempSync(join(tmpdir(), 'gossipless-lint-warn-'));
    write(warningsOnly, 'start.cjs', ONLY_LOGS);
    clean = mkdtempSync(join(tmpdir(), 'gossipless-lint-clean-'));
    write(clean, 'index.ts', CLEAN);
  });

  afterAll(() => {
    for (const dir of [repo, warningsOnly, clean]) rmSync(dir, { recursive: true, force: true });
  });

  async function lint(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = memoryIo({ cwd });
    const code = await runCli(['lint', ...args], io);
    return { code, out: io.out, err: io.err };
  }

  it('walks the tree honouring .gitignore (nested too), skipping node_modules and other extensions', () => {
    const report = lintFiles(['.'], { cwd: repo });
    const files = new Set(report.findings.map((finding) => finding.file));
    expect([...files].sort()).toEqual([
      'src/legacy/swim-start.js',
      'src/membership.ts',
      'src/sub/kept.mjs',
      'src/unreasoned.ts',
    ]);
    expect(report.filesLinted).toBe(8);
  });

  it('lints a file named explicitly even when .gitignore lists it', () => {
    const report = lintFiles(['generated/membership.ts'], { cwd: repo });
    expect(report.findings.map((finding) => [finding.file, finding.line, finding.severity])).toEqual([
      ['generated/membership.ts', 7, 'error'],
    ]);
  });

  it('reports a file that does not parse as skipped, with the parser message, and carries on', () => {
    const report = lintFiles(['src'], { cwd: repo });
    expect(report.skipped).toEqual([
      { file: 'src/broken-discovery.ts', reason: "')' expected.", line: 3, column: 1 },
    ]);
    expect(report.findings.length).toBeGreaterThan(0);
  });

  it('never parses a file the text pre-filter rules out (even a broken one)', () => {
    const report = lintFiles(['src/broken-but-unrelated.ts', 'src/math.ts'], { cwd: repo });
    expect(report).toMatchObject({ filesLinted: 2, filesParsed: 0, skipped: [], findings: [] });
    expect(mightContainDiscovery(CLEAN)).toBe(false);
    expect(mightContainDiscovery('await this.cluster.join(seeds)')).toBe(true);
    expect(mightContainDiscovery('const peers = await findPeers()')).toBe(true);
  });

  it('honours a suppression comment with a reason, and not one without', () => {
    const report = lintFiles(['src/suppressed.ts', 'src/unreasoned.ts'], { cwd: repo });
    expect(report.suppressedCount).toBe(1);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]?.file).toBe('src/unreasoned.ts');
    expect(report.findings[0]?.message).toContain('has no reason after `--`');
    const other = applySuppressions(
      [
        {
          ruleId: 'some-other-rule',
          severity: 'error',
          message: 'x',
          line: 6,
          column: 3,
          endLine: 6,
          endColumn: 4,
        },
      ],
      SUPPRESSED,
    );
    expect(other.kept).toHaveLength(1);
  });

  it('text format: one block per finding with a code frame, skipped files, summary; exit 1 on errors', async () => {
    const { code, out, err } = await lint(repo);
    expect(code).toBe(1);
    expect(err).toBe('');
    expect(out).toContain('error: This `catch` around `socket.addMembership()`');
    expect(out).toContain('at src/membership.ts:7:5');
    expect(out).toMatch(/> {1,2}7 \| {3}\} catch \(err\) \{\n\s+\| {5}\^+/);
    expect(out).toContain('Skipped 1 file that could not be parsed or read:');
    expect(out).toContain("src/broken-discovery.ts:3:1  ')' expected.");
    expect(out).toContain('4 problems (1 error, 3 warnings) in 8 files.');
    expect(out).toContain('1 finding suppressed inline.');
    expect(out.includes(String.fromCharCode(27))).toBe(false); // memoryIo has no colour
  });

  it('json format: one document with findings, skipped files and a summary', async () => {
    const { code, out } = await lint(repo, '--format', 'json');
    expect(code).toBe(1);
    const document = JSON.parse(out) as {
      version: number;
      findings: { file: string; line: number; column: number; severity: string; ruleId: string }[];
      skipped: { file: string; reason: string }[];
      summary: Record<string, number>;
    };
    expect(document.version).toBe(1);
    expect(document.findings[0]).toMatchObject({
      file: 'src/legacy/swim-start.js',
      line: 3,
      severity: 'warning',
      ruleId: 'no-self-disabling-discovery',
    });
    expect(document.skipped.map((skipped) => skipped.file)).toEqual(['src/broken-discovery.ts']);
    expect(document.summary).toEqual({
      filesLinted: 8,
      filesParsed: 6,
      errors: 1,
      warnings: 3,
      suppressed: 1,
    });
  });

  it('sarif format: valid SARIF 2.1.0 with rule metadata, stable ruleId and partialFingerprints', async () => {
    const { code, out } = await lint(repo, '--format', 'sarif');
    expect(code).toBe(1);
    const log = JSON.parse(out) as Sarif.Log;
    const schema = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as object;
    const validate = new AjvDraft04({
      strict: false,
      unicodeRegExp: false,
      validateFormats: false,
      logger: false,
    }).compile(schema);
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const [run] = log.runs;
    expect(run?.tool.driver.rules?.[0]).toMatchObject({
      id: 'no-self-disabling-discovery',
      shortDescription: { text: expect.stringContaining('discovery') },
      helpUri: expect.stringContaining('docs/rules/no-self-disabling-discovery.md'),
    });
    const error = run?.results?.find((result) => result.level === 'error');
    expect(error).toMatchObject({
      ruleId: 'no-self-disabling-discovery',
      ruleIndex: 0,
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'src/membership.ts', uriBaseId: '%SRCROOT%' },
            region: { startLine: 7, startColumn: 5 },
          },
        },
      ],
    });
    expect(error?.partialFingerprints?.['gossiplessLineHash/v1']).toMatch(/^[0-9a-f]{32}:1$/);
    expect(run?.invocations?.[0]?.toolExecutionNotifications?.[0]?.message.text).toContain(
      'src/broken-discovery.ts',
    );

    // The fingerprint follows the line's text, not its number: moving the code keeps the alert.
    write(repo, 'moved/membership.ts', FALLS_BACK);
    write(repo, 'moved2/membership.ts', `// a new header line\n\n${FALLS_BACK}`);
    const fingerprint = async (path: string): Promise<string | undefined> => {
      const result = JSON.parse((await lint(repo, '--format', 'sarif', path)).out) as Sarif.Log;
      const hash = result.runs[0]?.results?.[0]?.partialFingerprints?.['gossiplessLineHash/v1'];
      return hash;
    };
    const before = await fingerprint('moved/membership.ts');
    writeFileSync(join(repo, 'moved/membership.ts'), `// a new header line\n\n${FALLS_BACK}`);
    expect(await fingerprint('moved/membership.ts')).toBe(before);
    rmSync(join(repo, 'moved'), { recursive: true });
    rmSync(join(repo, 'moved2'), { recursive: true });
  });

  it('exits 0 when findings are warnings only, and when clean', async () => {
    expect((await lint(warningsOnly)).code).toBe(0);
    const { code, out } = await lint(clean);
    expect(code).toBe(0);
    expect(out).toContain('No problems found in 1 file.');
  });

  it('--output writes the report to a file and nothing to stdout', async () => {
    const { code, out } = await lint(
      repo,
      'src/membership.ts',
      '--format',
      'sarif',
      '--output',
      'reports/lint.sarif',
    );
    expect(code).toBe(1);
    expect(out).toBe('');
    const log = JSON.parse(readFileSync(join(repo, 'reports/lint.sarif'), 'utf8')) as Sarif.Log;
    expect(log.runs[0]?.results).toHaveLength(1);
  });

  it('shows progress on stderr only on a terminal, and clears it', async () => {
    const io = memoryIo({ cwd: repo, isTTY: true });
    expect(await runCli(['lint', '--format', 'json'], io)).toBe(1);
    expect(io.err).toContain('\rlinted 8/8 files');
    expect(io.err.endsWith('\r\u001b[K')).toBe(true);
    expect(() => JSON.parse(io.out) as unknown).not.toThrow();
    expect((await lint(repo, '--format', 'json')).err).toBe('');
  });

  it('exits 2 with a clear message on usage errors', async () => {
    const missing = await lint(repo, 'no/such/dir');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('lint path "no/such/dir" does not exist');
    const badFormat = await lint(repo, '--format', 'xml');
    expect(badFormat.code).toBe(2);
    expect(badFormat.err).toContain('Allowed choices are text, json, sarif');
  });
});
