import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/clock/index.js';
import { judgeClusterHealth } from '../../src/cluster/index.js';
import { testCluster } from '../helpers/cluster.js';
import { uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';

const base = {
  started: true,
  stopping: false,
  joined: true,
  isLeader: false,
  claimedTerm: undefined,
  now: 10_000,
  livenessGraceMs: 1000,
};

describe('judgeClusterHealth', () => {
  it('is ready only once started, joined and not stopping; live throughout', () => {
    expect(judgeClusterHealth(base)).toMatchObject({ ready: true, live: true });
    expect(judgeClusterHealth({ ...base, started: false })).toMatchObject({ ready: false, live: true });
    expect(judgeClusterHealth({ ...base, joined: false })).toMatchObject({ ready: false, live: true });
    expect(judgeClusterHealth({ ...base, stopping: true })).toMatchObject({ ready: false, live: true });
  });

  it('is not live while claiming a term whose step-down time passed by more than the grace', () => {
    const term = { epoch: 4, confirmedAt: 0, stepDownAt: 13_000 };
    expect(judgeClusterHealth({ ...base, claimedTerm: term, now: 13_500 })).toMatchObject({ live: true });
    const stuck = judgeClusterHealth({ ...base, claimedTerm: term, now: 14_500 });
    expect(stuck).toMatchObject({ live: false, ready: false });
    expect(stuck.reason).toContain('epoch 4');
    expect(stuck.reason).toContain('14.5 s ago');
  });
});

describe('cluster.health() on Azurite', () => {
  it('turns ready once the member row is in, and not live when the leader is past its step-down time', async () => {
    let jumpMs = 0;
    const clock: Clock = {
      monotonicNow: () => systemClock.monotonicNow() + jumpMs,
      wallNow: () => systemClock.wallNow(),
    };
    const node = testCluster({ cluster: uniqueName('health'), nodeId: 'h1', clock });
    expect(node.health()).toMatchObject({ ready: false, live: true, reason: 'not started' });
    await node.start();
    try {
      await waitFor(() => node.health().ready && node.isLeader, 15_000, 'ready and leading');
      expect(node.health()).toMatchObject({ ready: true, live: true, isLeader: true });
      // As a blocked event loop would leave it: the deadline passed and the demotion has not run.
      jumpMs = 20_000;
      const health = node.health();
      expect(health.live).toBe(false);
      expect(health.reason).toContain('past the step-down deadline');
    } finally {
      jumpMs = 0;
      await node.stop();
    }
    expect(node.health()).toMatchObject({ ready: false, live: true, reason: 'stopping' });
  });
});
