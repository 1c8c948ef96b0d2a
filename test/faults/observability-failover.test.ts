import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { findFreePort } from '../../src/dev/index.js';
import { uniqueName } from '../helpers/storage.js';
import { bundleNodeScript } from '../support/node-bundle.js';

const root = resolve(import.meta.dirname, '../..');
// Bundled: it starts in well under a second on a loaded machine, where tsx took 15–60 s.
const exampleNode = bundleNodeScript(resolve(root, 'examples/observability/node.ts'));

interface ExampleNode {
  id: string;
  child: ChildProcess;
  metricsPort: number;
  healthPort: number;
  exited: Promise<void>;
}

const cluster = uniqueName('obs');
const nodes: ExampleNode[] = [];

async function startNode(id: string): Promise<ExampleNode> {
  const metricsPort = await findFreePort();
  const healthPort = await findFreePort();
  const child = spawn(process.execPath, [exampleNode], {
    cwd: root,
    env: {
      ...process.env,
      AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      GOSSIPLESS_CLUSTER: cluster,
      NODE_ID: id,
      METRICS_PORT: String(metricsPort),
      HEALTH_PORT: String(healthPort),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const node = { id, child, metricsPort, healthPort, exited };
  nodes.push(node);
  return node;
}

/** One scrape of the example's Prometheus endpoint: this node's leader status and epoch. */
async function scrape(node: ExampleNode): Promise<{ status?: number; epoch?: number } | undefined> {
  let text: string;
  try {
    text = await (await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)).text();
  } catch {
    return undefined; // not listening yet, or killed
  }
  const value = (metric: string): number | undefined => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${metric}{`) && l.includes(`gossipless_node="${node.id}"`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { status: value('gossipless_leader_status'), epoch: value('gossipless_leader_epoch') };
}

async function probe(node: ExampleNode, path: '/readyz' | '/livez'): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${node.healthPort}${path}`)).status;
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

afterAll(async () => {
  for (const node of nodes) node.child.kill('SIGKILL');
  await Promise.all(nodes.map((n) => n.exited));
});

describe('the observability example under a kill -9 failover, scraped through the Prometheus exporter', () => {
  it('shows leader status move from the killed node to the other and the epoch rise', async () => {
    const [a, b] = [await startNode('obs-a'), await startNode('obs-b')];
    // A leader, seen in the scrapes: one node reports 1, the other 0.
    const first = await until('a leader in the scrapes', 90_000, async () => {
      const [sa, sb] = [await scrape(a), await scrape(b)];
      if (sa?.status === undefined || sb?.status === undefined) return undefined;
      if (sa.status + sb.status !== 1) return undefined;
      const leader = sa.status === 1 ? a : b;
      const epoch = (sa.status === 1 ? sa : sb).epoch;
      return epoch === undefined ? undefined : { leader, follower: leader === a ? b : a, epoch };
    });
    expect(first.epoch).toBeGreaterThanOrEqual(1);
    await until('both nodes ready', 30_000, async () =>
      (await probe(a, '/readyz')) === 200 && (await probe(b, '/readyz')) === 200 ? true : undefined,
    );
    expect(await probe(first.follower, '/livez')).toBe(200);

    first.leader.child.kill('SIGKILL');
    await first.leader.exited;
    const killedScrape = await scrape(first.leader);

    // The survivor takes over once the lease expires (L = 15 s): its status turns 1, the epoch rises.
    const after = await until('the survivor leading', 90_000, async () => {
      const s = await scrape(first.follower);
      return s?.status === 1 && s.epoch !== undefined ? s : undefined;
    });
    expect(after.epoch).toBeGreaterThan(first.epoch);
    expect(killedScrape).toBeUndefined();
    expect(await probe(first.follower, '/livez')).toBe(200);
    expect(await probe(first.follower, '/readyz')).toBe(200);
  });
});
