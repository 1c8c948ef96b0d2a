import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

function workspace(rules: unknown, name = 'gossipless.rate-limits.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'gossipless-edge-cli-'));
  writeFileSync(join(dir, name), typeof rules === 'string' ? rules : JSON.stringify(rules));
  return dir;
}

const exactEverywhere = { rules: [{ name: 'per-ip', limit: 100, window: '1m', burst: 10, key: 'ip' }] };

describe('gossipless edge', () => {
  it('prints the report and where files would go, writing nothing without --out', async () => {
    const cwd = workspace(exactEverywhere);
    const io = memoryIo({ cwd });
    const code = await runCli(
      ['edge', 'gossipless.rate-limits.json', '--target', 'nginx', 'azure-front-door'],
      io,
    );
    expect(code).toBe(0);
    expect(io.out).toContain('| nginx | exact |');
    expect(io.out).toContain('| azure-front-door | approximated |');
    expect(io.out).toContain('- nginx/gossipless-rate-limits.conf');
    expect(io.out).toContain('Nothing written: pass --out <dir>');
    expect(existsSync(join(cwd, 'nginx'))).toBe(false);
    expect(io.err).toBe('');
  });

  it('writes one file per target plus report.md with --out', async () => {
    const cwd = workspace(exactEverywhere);
    const io = memoryIo({ cwd });
    const code = await runCli(
      [
        'edge',
        'gossipless.rate-limits.json',
        '--target',
        'nginx',
        'haproxy',
        '--out',
        'edge',
        '--instances',
        '2',
      ],
      io,
    );
    expect(code).toBe(0);
    expect(readFileSync(join(cwd, 'edge/nginx/gossipless-rate-limits.conf'), 'utf8')).toContain(
      'rate=100r/m',
    );
    expect(readFileSync(join(cwd, 'edge/haproxy/haproxy.cfg'), 'utf8')).toContain('gpc0_rate(1m)');
    const report = readFileSync(join(cwd, 'edge/report.md'), 'utf8');
    expect(report).toContain('fleet bound (N=2)');
    expect(io.out).toContain('Wrote 3 files');
  });

  it('prints one JSON document with --json', async () => {
    const cwd = workspace(exactEverywhere);
    const io = memoryIo({ cwd });
    expect(
      await runCli(
        ['edge', 'gossipless.rate-limits.json', '--target', 'traefik', '--json', '--instances', '3'],
        io,
      ),
    ).toBe(0);
    const doc = JSON.parse(io.out) as { rows: Array<{ target: string; fleetBound: number }>; written: null };
    expect(doc.rows).toEqual([
      expect.objectContaining({ target: 'traefik', fidelity: 'approximated', fleetBound: 330 }),
    ]);
    expect(doc.written).toBeNull();
  });

  it('reports refusals and exits 0 by default, 1 with --strict', async () => {
    const cwd = workspace({
      rules: [
        { name: 'tenant', limit: 10, window: '1s', key: 'jwt:tid' },
        { name: 'per-ip', limit: 10, window: '1s', key: 'ip' },
      ],
    });
    let io = memoryIo({ cwd });
    expect(await runCli(['edge', 'gossipless.rate-limits.json', '--target', 'nginx'], io)).toBe(0);
    expect(io.out).toContain('| nginx | refused |');
    expect(io.out).toContain('cannot read JWT claims');
    expect(io.err).toContain('pass --strict to exit 1 on refusals');
    io = memoryIo({ cwd });
    expect(await runCli(['edge', 'gossipless.rate-limits.json', '--target', 'nginx', '--strict'], io)).toBe(
      1,
    );
  });

  it('states the exit code contract in --help', async () => {
    const io = memoryIo();
    expect(await runCli(['edge', '--help'], io)).toBe(0);
    expect(io.out).toMatch(/Exit 0 configuration generated/);
    expect(io.out).toMatch(/1 only with\s+--strict/);
    expect(io.out).toContain('--divide-by-instances');
  });

  it('refuses to write a target that would carry no rule, naming it and the reason (exit 2)', async () => {
    const cwd = workspace({ rules: [{ name: 'tenant', limit: 10, window: '1s', key: 'jwt:tid' }] });
    let io = memoryIo({ cwd });
    expect(
      await runCli(
        [
          'edge',
          'gossipless.rate-limits.json',
          '--target',
          'nginx',
          'azure-front-door',
          'azure-apim',
          '--out',
          'o',
        ],
        io,
      ),
    ).toBe(2);
    expect(io.err).toContain('nothing written: nginx, azure-front-door would carry no rule');
    expect(io.err).toContain('rule "tenant": Front Door groups rate-limit counters by socket IP');
    expect(existsSync(join(cwd, 'o'))).toBe(false);
    const empty = workspace({ rules: [] });
    io = memoryIo({ cwd: empty });
    expect(
      await runCli(
        ['edge', 'gossipless.rate-limits.json', '--target', 'azure-app-gateway', '--out', 'o'],
        io,
      ),
    ).toBe(2);
    expect(io.err).toContain('the rules file has no rules');
    expect(existsSync(join(empty, 'o'))).toBe(false);
  });

  it('exits 2 when two rule names become one identifier, naming both', async () => {
    const cwd = workspace({
      rules: [
        { name: 'api-login', limit: 10, window: '1s', key: 'ip' },
        { name: 'api_login', limit: 20, window: '1s', key: 'ip' },
      ],
    });
    const io = memoryIo({ cwd });
    expect(await runCli(['edge', 'gossipless.rate-limits.json', '--target', 'nginx'], io)).toBe(2);
    expect(io.err).toContain(
      'rule "api_login", field "name": becomes the same identifier as rule "api-login"',
    );
    expect(io.out).toBe('');
  });

  it.each([
    ['--upstream', '127.0.0.1:3000; } server { listen 9999; location / { return 200; } } #', 'upstream'],
    ['--upstream', '127.0.0.1', 'upstream'],
    ['--listen', 'notanaddr', 'listen'],
    ['--listen', '300.1.1.1:80', 'listen'],
    ['--listen', '127.0.0.1:70000', 'listen'],
    ['--service', 'App_Bad Name', 'service'],
  ])('exits 2 on %s %j, naming the flag', async (flag, value, word) => {
    const cwd = workspace(exactEverywhere);
    const io = memoryIo({ cwd });
    expect(
      await runCli(
        ['edge', 'gossipless.rate-limits.json', '--target', 'nginx', 'haproxy', 'traefik', flag, value],
        io,
      ),
    ).toBe(2);
    expect(io.err).toMatch(new RegExp(`^gossipless: ${word} "`));
    expect(io.err.trim().split('\n')).toHaveLength(1);
  });

  it('accepts the address forms nginx and HAProxy both take', async () => {
    const cwd = workspace(exactEverywhere);
    for (const address of ['127.0.0.1:3000', '[::1]:3000', 'app.internal:8080']) {
      const io = memoryIo({ cwd });
      expect(
        await runCli(['edge', 'gossipless.rate-limits.json', '--target', 'nginx', '--upstream', address], io),
      ).toBe(0);
      expect(io.out).toContain('nginx');
    }
  });

  it('exits 2 on invalid rules, naming the rule and field', async () => {
    const cwd = workspace(
      'rules:\n  - name: api\n    limit: 10\n    window: 10 s\n    key: ip\n',
      'limits.yaml',
    );
    const io = memoryIo({ cwd });
    expect(await runCli(['edge', 'limits.yaml', '--target', 'nginx'], io)).toBe(2);
    expect(io.err).toContain('rule "api" (rules[0]), field "window"');
    expect(io.out).toBe('');
  });

  it('exits 2 on an unknown target, a missing file or a bad --instances', async () => {
    const cwd = workspace(exactEverywhere);
    let io = memoryIo({ cwd });
    expect(await runCli(['edge', 'gossipless.rate-limits.json', '--target', 'caddy'], io)).toBe(2);
    expect(io.err).toContain('unknown target "caddy"');
    io = memoryIo({ cwd });
    expect(await runCli(['edge', 'missing.json', '--target', 'nginx'], io)).toBe(2);
    expect(io.err).toContain('does not exist');
    io = memoryIo({ cwd });
    expect(
      await runCli(['edge', 'gossipless.rate-limits.json', '--target', 'nginx', '--instances', '0'], io),
    ).toBe(2);
    io = memoryIo({ cwd });
    expect(await runCli(['edge', 'gossipless.rate-limits.json'], io)).toBe(2);
    expect(io.err).toContain('--target');
  });
});
