import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Cluster } from '../../src/cluster/index.js';
import { runCli } from '../../src/cli/program.js';
import { TableBus } from '../../src/bus/index.js';
import { memoryIo } from '../../src/cli/io.js';
import type { ClusterStatus } from '../../src/status/index.js';
import type { CostReport } from '../../src/cli/cost-report.js';
import { transactionsPerNodeHour } from '../../src/cost/index.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';
import { testCluster } from '../helpers/cluster.js';

const cluster = uniqueName('s');
const nodes: Cluster[] = [];

beforeAll(async () => {
  for (const nodeId of ['alpha', 'beta', 'gamma']) {
    nodes.push(testCluster({ cluster, nodeId, metadata: { address: `${nodeId}.svc:8080` } }));
  }
  await Promise.all(nodes.map((n) => n.start()));
  await waitFor(
    () => nodes.some((n) => n.isLeader) && nodes.every((n) => n.members().length === 3),
    // Room for a loaded machine: three nodes start, one campaigns and all read each other.
    45_000,
    'a settled cluster',
  );
  await nodes[0]!.publish('jobs', { queued: 1 });
  // Let the leader heartbeat once more so its row carries the renewal time.
  await new Promise((r) => setTimeout(r, 600));
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

function io() {
  return memoryIo({ env: { AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString') } });
}

describe('gossipless status', () => {
  it('--json describes a live 3-node cluster: holder, epoch, members by server clock, channels, changes', async () => {
    const out = io();
    const code = await runCli(
      ['status', '--cluster', cluster, '--table-prefix', 'clustertest', '--json'],
      out,
    );
    expect(out.err).toBe('');
    expect(code).toBe(0);
    const status = JSON.parse(out.out) as ClusterStatus;
    const leader = nodes.find((n) => n.isLeader)!;
    expect(status.leader).toMatchObject({
      holder: leader.nodeId,
      epoch: 1,
      isHeld: true,
      leaseState: 'leased',
    });
    expect(status.leader.lastRenewalAgoMs).toBeGreaterThanOrEqual(0);
    expect(status.leader.lastRenewalAgoMs).toBeLessThan(15_000);
    expect(status.members.map((m) => m.nodeId).sort()).toEqual(['alpha', 'beta', 'gamma']);
    expect(status.members.every((m) => m.state === 'alive')).toBe(true);
    expect(status.members.find((m) => m.isLeader)?.nodeId).toBe(leader.nodeId);
    expect(status.members.find((m) => m.nodeId === 'beta')?.metadata).toEqual({ address: 'beta.svc:8080' });
    expect(status.channels.find((c) => c.channel === 'jobs')).toMatchObject({ backlog: 1 });
    expect(status.leaderChanges[0]).toMatchObject({ type: 'elected', holder: leader.nodeId, epoch: 1 });
    expect(status.healthy).toBe(true);
    expect(status.warnings).toEqual([]);
  });

  it('prints a readable text view and a cost estimate labelled as such', async () => {
    const out = io();
    const code = await runCli(['status', '-c', cluster, '--table-prefix', 'clustertest', '--cost'], out);
    expect(code).toBe(0);
    expect(out.out).toMatch(/leader\s+\S+\s+epoch 1\s+lease leased/);
    expect(out.out).toContain('3 alive, 0 suspect, 0 dead');
    expect(out.out).toContain('(estimate)');
    // The model's node-hour by kind at the runtime's defaults, and one row per replica count.
    const { leader, follower } = transactionsPerNodeHour();
    const figure = (n: number) => n.toLocaleString('en-US');
    for (const kind of ['lease', 'membership', 'bus-poll'] as const) {
      expect(out.out).toMatch(
        new RegExp(`${kind}\\s+${figure(leader.byKind[kind])}\\s+${figure(follower.byKind[kind])}\\n`),
      );
    }
    expect(out.out).toMatch(/^\s+1000\s+[\d,]+\s/m);
    // Each live member's own count, from its heartbeat row, beside the model's figure for its role.
    for (const nodeId of ['alpha', 'beta', 'gamma']) {
      expect(out.out).toMatch(new RegExp(`${nodeId}\\s+(leader|follower)\\s+[\\d,]+\\s+[\\d,]+`));
    }
    expect(out.out).toContain('prices: Azure Storage pricing pages');
  });

  it('--cost --json carries each member’s counted rate next to the model’s', async () => {
    const out = io();
    await runCli(
      ['status', '-c', cluster, '--table-prefix', 'clustertest', '--cost', '--replicas', '3,10', '--json'],
      out,
    );
    const { cost } = JSON.parse(out.out) as { cost: CostReport };
    expect(cost.source).toBe('model+live');
    expect(cost.replicas.map((r) => r.nodes)).toEqual([3, 10]);
    expect(cost.members.map((m) => m.nodeId).sort()).toEqual(['alpha', 'beta', 'gamma']);
    for (const member of cost.members) {
      // The test nodes poll every 100 ms and heartbeat every 250 ms: far above the defaults' model.
      expect(member.countedPerHour).toBeGreaterThan(member.modelPerHour);
      expect(member.role).toBe(
        nodes.find((n) => n.nodeId === member.nodeId)!.isLeader ? 'leader' : 'follower',
      );
    }
  });

  it('exits 1 with a warning for a cluster nobody runs, and 2 naming --cluster when none is given', async () => {
    const out = io();
    expect(await runCli(['status', '-c', 'nobody-here', '--json'], out)).toBe(1);
    expect((JSON.parse(out.out) as ClusterStatus).warnings[0]).toContain('no lease blob');
    const missing = io();
    expect(await runCli(['status'], missing)).toBe(2);
    expect(missing.err).toContain('--cluster');
  });

  it('names AZURE_STORAGE_CONNECTION_STRING and `gossipless dev` when storage is not configured', async () => {
    const out = memoryIo({ env: {} });
    expect(await runCli(['status', '-c', cluster], out)).toBe(2);
    expect(out.err).toContain('AZURE_STORAGE_CONNECTION_STRING');
    expect(out.err).toContain('gossipless dev');
    expect(out.err).toContain('--account-name');
  });
});

describe('gossipless status --cost at configured timings', () => {
  it('prices the timings given on the command line', async () => {
    const out = memoryIo({ env: { AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString') } });
    await runCli(
      [
        'status',
        '-c',
        'nobody-here',
        '--cost',
        '--nodes',
        '3',
        '--idle-poll-ms',
        '2000',
        '--heartbeat-ms',
        '5000',
        '--renew-ms',
        '4000',
        '--json',
      ],
      out,
    );
    const { cost } = JSON.parse(out.out) as { cost: CostReport };
    // Idle polls: every 2 s, each pause shortened by half the default 5 % jitter on average.
    const polls = Math.round(3_600_000 / (2000 * 0.975));
    expect(cost.perNodeHour.follower).toMatchObject({ blob: 900, table: 1440 + polls });
    expect(cost.perNodeHour.follower.byKind).toMatchObject({
      lease: 900,
      membership: 1440,
      'bus-poll': polls,
    });
    expect(cost.replicas).toEqual([expect.objectContaining({ nodes: 3 })]);
  });

  it('needs no cluster and no storage: prints the model’s table for 3 … 1,000 replicas and says so', async () => {
    const text = memoryIo({ env: {} });
    expect(await runCli(['status', '--cost'], text)).toBe(0);
    expect(text.out).toContain('the table is the model’s');
    for (const n of ['3', '10', '50', '200', '1000'])
      expect(text.out).toMatch(new RegExp(`^\\s+${n}\\s+[\\d,]+\\s`, 'm'));
    expect(text.out).toMatch(/\$\d+\.\d\d/);
    const json = memoryIo({ env: {} });
    expect(
      await runCli(
        ['status', '-c', 'orders', '--cost', '--replicas', '5', '--ticks-per-hour', '60', '--json'],
        json,
      ),
    ).toBe(0);
    const { cost } = JSON.parse(json.out) as { cost: CostReport };
    expect(cost.source).toBe('model');
    expect(cost.liveUnavailable).toContain('no storage configured');
    expect(cost.perNodeHour.leader.byKind['tick-claim']).toBe(60);
    expect(cost.replicas).toEqual([
      expect.objectContaining({
        nodes: 5,
        perHour: cost.perNodeHour.leader.total + 4 * cost.perNodeHour.follower.total,
      }),
    ]);
  });

  it('prints each size’s leader and follower hour: past 1,000 members the leader’s list takes a request more', async () => {
    const json = memoryIo({ env: {} });
    expect(await runCli(['status', '--cost', '--replicas', '1000,1001', '--json'], json)).toBe(0);
    const { cost } = JSON.parse(json.out) as { cost: CostReport };
    expect(cost.perNodeHour.nodes).toBe(3);
    const [small, large] = cost.replicas;
    expect(large!.followerPerHour).toBe(small!.followerPerHour);
    expect(large!.leaderPerHour - small!.leaderPerHour).toBe(240); // one more page per 15 s heartbeat
    const text = memoryIo({ env: {} });
    await runCli(['status', '--cost', '--replicas', '3'], text);
    expect(text.out).toContain('transactions per node-hour in a cluster of 3, by kind:');
    expect(text.out).toMatch(/LEADER\/h\s+FOLLOWER\/h/);
  });

  it('refuses a replica list that is not whole numbers, with exit code 2', async () => {
    const out = memoryIo({ env: {} });
    expect(await runCli(['status', '--cost', '--replicas', '3,ten'], out)).toBe(2);
    expect(out.err).toContain('--replicas');
  });
});

describe('gossipless status --watch', () => {
  it('refreshes in place on a terminal until interrupted', async () => {
    const controller = new AbortController();
    const out = memoryIo({
      env: { AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString') },
      isTTY: true,
      signal: controller.signal,
    });
    const running = runCli(['status', '-c', cluster, '--table-prefix', 'clustertest', '--watch', '300'], out);
    await waitFor(() => out.out.split('\x1b[H\x1b[2J').length >= 3, 10_000, 'two refreshes');
    controller.abort();
    expect(await running).toBe(0);
    const frames = out.out.split('\x1b[H\x1b[2J').filter(Boolean);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(frames.every((f) => f.includes(`cluster ${cluster}`))).toBe(true);
  });
});

describe('gossipless status with the nodes’ own timings', () => {
  it('judges liveness with --member-ttl-ms: a row silent for longer is dead, and alive under the default', async () => {
    // A node that wrote its row once and went silent.
    await testStorage()
      .tableClient('clustertestbus')
      .upsertEntity({
        partitionKey: `m:${cluster}`,
        rowKey: 'ghost',
        nodeId: 'ghost',
        metadata: '{}',
        startedAt: '',
        incarnation: 0,
      });
    await new Promise((r) => setTimeout(r, 2500));
    const read = async (extra: string[]) => {
      const out = memoryIo({ env: { AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString') } });
      await runCli(['status', '-c', cluster, '--table-prefix', 'clustertest', '--json', ...extra], out);
      return (JSON.parse(out.out) as ClusterStatus).members.find((m) => m.nodeId === 'ghost')!;
    };
    expect((await read(['--member-ttl-ms', '1000'])).state).toBe('dead');
    expect((await read([])).state).toBe('alive');
    await testStorage().tableClient('clustertestbus').deleteEntity(`m:${cluster}`, 'ghost');
  });
});

describe('gossipless status and dead letters', () => {
  it('shows dead-letter counts per channel, in --json and in text, with a warning', async () => {
    const deadCluster = uniqueName('sd');
    const consumer = new TableBus({
      storage: testStorage(),
      cluster: deadCluster,
      nodeId: 'consumer',
      tablePrefix: 'clustertest',
      pollIntervalMs: 100,
      lookbackMs: 3000,
      redelivery: { maxAttempts: 2, initialBackoffMs: 100, maxBackoffMs: 100 },
    });
    const publisher = new TableBus({
      storage: testStorage(),
      cluster: deadCluster,
      nodeId: 'pub',
      tablePrefix: 'clustertest',
    });
    try {
      consumer.subscribe('orders', () => {
        throw new Error('handler bug');
      });
      await consumer.start();
      await publisher.publish('orders', { n: 1 });
      await publisher.publish('orders', { n: 2 });
      await waitFor(() => consumer.stats.deadLettered >= 2, 10_000, 'two dead letters');
    } finally {
      await Promise.all([consumer.stop(), publisher.stop()]);
    }
    const json = io();
    await runCli(['status', '-c', deadCluster, '--table-prefix', 'clustertest', '--json'], json);
    const status = JSON.parse(json.out) as ClusterStatus;
    expect(status.deadLetters).toEqual([{ channel: 'orders', count: 2, oldestAgeMs: expect.any(Number) }]);
    expect(status.channels.map((c) => c.channel)).toEqual(['orders']);
    expect(status.warnings.some((w) => w.includes('2 dead-lettered message(s) on channel orders'))).toBe(
      true,
    );
    const text = io();
    await runCli(['status', '-c', deadCluster, '--table-prefix', 'clustertest'], text);
    expect(text.out).toMatch(/dead letters[\s\S]*orders\s+2\s/);
  });
});
