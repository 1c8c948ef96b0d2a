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

// A real HAProxy with the generated stick tables in front of a Node upstream on loopback: the
// report says HAProxy lets `limit` through at once (no separate burst) and answers the rule's status.
const rules = parseRateLimitRules(
  JSON.stringify([
    { name: 'api', limit: 5, window: '1m', burst: 3, key: 'ip', match: { path: '/api' } },
    { name: 'keys', limit: 3, window: '1m', key: 'header:x-api-key', status: 503 },
  ]),
  'loopback.json',
);

let upstream: Server;
let haproxy: ChildProcess | undefined;
let baseUrl: string;
let rows: readonly ReportRow[];

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

beforeAll(async () => {
  const binary = requireBinary('haproxy');
  upstream = createServer((_request, response) => response.end('ok'));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const port = await findFreePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const plan = planEdge(rules, ['haproxy'], {
    listen: `127.0.0.1:${port}`,
    upstream: `127.0.0.1:${(upstream.address() as AddressInfo).port}`,
  });
  rows = plan.rows;
  const dir = mkdtempSync(join(tmpdir(), 'gossipless-haproxy-run-'));
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, plan.files.find((f) => f.path === HAPROXY_FILE)!.content);
  // -db: stay in the foreground, so the test owns the process and stops it.
  haproxy = spawn(binary, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  haproxy.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(haproxy, 'exit').then(() => {
    throw new Error(`haproxy exited early: ${stderr}`);
  });
  await Promise.race([waitForPort('127.0.0.1', port, Date.now() + 10_000, 'haproxy'), exited]);
  exited.catch(() => undefined);
});

afterAll(async () => {
  if (haproxy && haproxy.exitCode === null && haproxy.signalCode === null) {
    const exited = once(haproxy, 'exit');
    haproxy.kill('SIGTERM');
    await exited;
  }
  upstream?.close();
});

describe('a real HAProxy with the generated stick tables', () => {
  it('lets the reported number through at once, then denies with 429', async () => {
    const row = rows.find((r) => r.rule === 'api')!;
    expect(row.burstAtOnce).toBe(5);
    const seen = await statuses('/api/x', 9);
    expect(seen).toEqual([...Array(row.burstAtOnce).fill(200), ...Array(9 - row.burstAtOnce!).fill(429)]);
    expect(await statuses('/other', 6)).toEqual(Array(6).fill(200));
  });

  it('keys by header and answers the rule status; requests without the header are not limited', async () => {
    const row = rows.find((r) => r.rule === 'keys')!;
    const seen = await statuses('/other', 5, { 'x-api-key': 'k1' });
    expect(seen).toEqual([...Array(row.burstAtOnce).fill(200), ...Array(5 - row.burstAtOnce!).fill(503)]);
    expect(await statuses('/other', 2, { 'x-api-key': 'k2' })).toEqual([200, 200]);
    expect(row.notes).toContain('requests without the x-api-key header are not limited by this rule');
  });

  it('stops HAProxy when done', async () => {
    const child = haproxy!;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    await expect(fetch(baseUrl)).rejects.toThrow();
  });
});
