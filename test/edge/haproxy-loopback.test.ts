import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, waitForPort } from '../../src/dev/index.js';
import { HAPROXY_FILE, parseRateLimitRules, planEdge, type ReportRow } from '../../src/edge/index.js';
import { requireBinary } from './real-tools.js';
import { bypassSpellings, pacedTraffic, statusesOf } from './traffic.js';

// HAProxy 2.6 tracks three stick counters per request, so the pacing rules run in a second
// HAProxy of their own (below).
const pacingRules = parseRateLimitRules(
  JSON.stringify([
    { name: 'paced', limit: 50, window: '1s', key: 'ip', match: { path: '/paced' } },
    { name: 'flood', limit: 50, window: '1s', key: 'ip', match: { path: '/flood' } },
  ]),
  'pacing.json',
);

// A real HAProxy with the generated stick tables in front of a Node upstream on loopback: the
// report says HAProxy lets `limit + burst` through at once and answers the rule's status.
const rules = parseRateLimitRules(
  JSON.stringify([
    { name: 'api', limit: 5, window: '1m', burst: 3, key: 'ip', match: { path: '/api' } },
    { name: 'keys', limit: 3, window: '1m', key: 'header:x-api-key', status: 503 },
    { name: 'login', limit: 3, window: '1m', key: 'ip', match: { path: '/auth/login' } },
  ]),
  'loopback.json',
);

let upstream: Server;
let main: RunningHaproxy;
let pacing: RunningHaproxy;
let baseUrl: string;
let rows: readonly ReportRow[];

interface RunningHaproxy {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  readonly rows: readonly ReportRow[];
}

async function statuses(
  path: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`${baseUrl}${path}`, { headers });
    await response.arrayBuffer();
    seen.push(response.status);
  }
  return seen;
}

async function startHaproxy(ruleSet: typeof rules): Promise<RunningHaproxy> {
  const binary = requireBinary('haproxy');
  const port = await findFreePort();
  const plan = planEdge(ruleSet, ['haproxy'], {
    listen: `127.0.0.1:${port}`,
    upstream: `127.0.0.1:${(upstream.address() as AddressInfo).port}`,
  });
  const dir = mkdtempSync(join(tmpdir(), 'gossipless-haproxy-run-'));
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, plan.files.find((f) => f.path === HAPROXY_FILE)!.content);
  // -db: stay in the foreground, so the test owns the process and stops it.
  const child = spawn(binary, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(() => {
    throw new Error(`haproxy exited early: ${stderr}`);
  });
  await Promise.race([waitForPort('127.0.0.1', port, Date.now() + 10_000, 'haproxy'), exited]);
  exited.catch(() => undefined);
  return { child, baseUrl: `http://127.0.0.1:${port}`, rows: plan.rows };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}

beforeAll(async () => {
  upstream = createServer((_request, response) => response.end('ok'));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  main = await startHaproxy(rules);
  pacing = await startHaproxy(pacingRules);
  baseUrl = main.baseUrl;
  rows = main.rows;
});

afterAll(async () => {
  await stop(main?.child);
  await stop(pacing?.child);
  upstream?.close();
});

describe('a real HAProxy with the generated stick tables', () => {
  it('lets the reported number through at once, then denies with 429', async () => {
    const row = rows.find((r) => r.rule === 'api')!;
    // limit 5 + burst 3 in the threshold.
    expect(row.burstAtOnce).toBe(8);
    const seen = await statuses('/api/x', 11);
    expect(seen).toEqual([...Array(row.burstAtOnce).fill(200), ...Array(11 - row.burstAtOnce!).fill(429)]);
    expect(await statuses('/other', 6)).toEqual(Array(6).fill(200));
  });

  it('keys by header and answers the rule status; requests without the header are not limited', async () => {
    const row = rows.find((r) => r.rule === 'keys')!;
    const seen = await statuses('/other', 5, { 'x-api-key': 'k1' });
    expect(seen).toEqual([...Array(row.burstAtOnce).fill(200), ...Array(5 - row.burstAtOnce!).fill(503)]);
    expect(await statuses('/other', 2, { 'x-api-key': 'k2' })).toEqual([200, 200]);
    expect(row.notes).toContain('requests without the x-api-key header are not limited by this rule');
  });

  it('limits case, percent-encoded and doubled-slash spellings of a path as the path itself', async () => {
    const row = rows.find((r) => r.rule === 'login')!;
    const seen = await statusesOf(baseUrl, bypassSpellings());
    expect(seen.filter((s) => s === 200)).toHaveLength(row.burstAtOnce!);
    expect(seen.filter((s) => s === 429)).toHaveLength(seen.length - row.burstAtOnce!);
  });

  it('never rejects a client pacing at 90 % of its limit', async () => {
    const result = await pacedTraffic(`${pacing.baseUrl}/paced`, 45, 2000);
    expect(result).toEqual({ sent: 90, allowed: 90, denied: 0, other: [] });
  });

  it('gives a client at 150 % the limit per window, not less (only admitted requests count)', async () => {
    const row = pacing.rows.find((r) => r.rule === 'flood')!;
    expect(row).toMatchObject({ fidelity: 'approximated', worstCasePerWindow: 110 });
    const result = await pacedTraffic(`${pacing.baseUrl}/flood`, 75, 2000);
    expect(result.other).toEqual([]);
    // Within the reported worst case for two windows; and far above the third of the limit that
    // got through when rejected requests were counted too.
    expect(result.allowed).toBeLessThanOrEqual(2 * row.worstCasePerWindow!);
    expect(result.allowed).toBeGreaterThanOrEqual(60);
  });

  it('stops HAProxy when done', async () => {
    const child = main.child;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    await expect(fetch(baseUrl)).rejects.toThrow();
  });
});
