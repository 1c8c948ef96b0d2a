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

const exactEverywhere = { rules: [{ name: 'per-ip', limit: 100, window: '1m', key: 'ip' }] };

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
    expect(readFileSync(join(cwd, 'edge/haproxy/haproxy.cfg'), 'utf8')).toContain('http_req_rate(1m)');
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
      expect.objectContaining({ target: 'traefik', fidelity: 'exact', fleetBound: 300 }),
    ]);
    expect(doc.written).toBeNull();
  });

  it('exits 1 when a target refuses a rule, and says why', async () => {
    const cwd = workspace({ rules: [{ name: 'tenant', limit: 10, window: '1s', key: 'jwt:tid' }] });
    const io = memoryIo({ cwd });
    expect(await runCli(['edge', 'gossipless.rate-limits.json', '--target', 'nginx'], io)).toBe(1);
    expect(io.out).toContain('| nginx | refused |');
    expect(io.out).toContain('cannot read JWT claims');
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
