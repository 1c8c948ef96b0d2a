import { describe, expect, it } from 'vitest';
import { resolveTableBusTimings } from '../../src/bus/index.js';
import {
  DEFAULT_PRICES,
  DEFAULT_REPLICA_COUNTS,
  estimateCost,
  runtimeCostTimings,
  transactionsPerNodeHour,
} from '../../src/cost/index.js';
import { resolveLeaseElectorOptions } from '../../src/lease/index.js';
import { MEMBERSHIP_DEFAULTS } from '../../src/membership/index.js';

describe('cost model', () => {
  it("reads the runtime's own defaults (lease resolver, membership and bus defaults)", () => {
    const lease = resolveLeaseElectorOptions({ storage: {} as never, cluster: 'c', nodeId: 'n' });
    expect(runtimeCostTimings()).toMatchObject({
      leaseDurationMs: lease.leaseDurationMs,
      renewIntervalMs: lease.renewIntervalMs,
      retryIntervalMs: lease.retryIntervalMs,
      heartbeatIntervalMs: MEMBERSHIP_DEFAULTS.heartbeatIntervalMs,
      pollIntervalMs: resolveTableBusTimings({}).pollIntervalMs,
      idlePollIntervalMs: resolveTableBusTimings({}).idlePollIntervalMs,
      pollJitter: resolveTableBusTimings({}).pollJitter,
      retentionMs: resolveTableBusTimings({}).retentionMs,
    });
    // A longer lease moves the default renew interval with it, as the elector does.
    expect(transactionsPerNodeHour({ leaseDurationMs: 30_000 }).leader.byKind.lease).toBe(
      3_600_000 /
        resolveLeaseElectorOptions({ storage: {} as never, cluster: 'c', leaseDurationMs: 30_000 })
          .renewIntervalMs,
    );
  });

  it('splits a node-hour by kind: one line per periodic call at the given timings', () => {
    const t = {
      renewIntervalMs: 4000,
      retryIntervalMs: 3000,
      heartbeatIntervalMs: 6000,
      idlePollIntervalMs: 2000,
      pollJitter: 0,
      retentionMs: 600_000,
      singletonTicksPerHour: 60,
      publishBatchesPerHour: 100,
    };
    const { leader, follower } = transactionsPerNodeHour(t, 3);
    expect(follower.byKind).toMatchObject({
      lease: 900, // a look at the blob per grid instant (the leader's renew interval)
      membership: 1200, // an upsert and a read of the member digest per heartbeat
      'bus-poll': 1800,
      publish: 100,
      'tick-claim': 0,
      retention: 0,
    });
    expect(leader.byKind).toMatchObject({
      lease: 900,
      membership: 1800, // an upsert, a list of the partition and a digest write per heartbeat
      'bus-poll': 1800,
      publish: 100,
      'tick-claim': 60, // one conditional write per tick
      retention: 12, // an idle leader: one query per retentionMs / 2
    });
    expect(follower.blob).toBe(900);
    expect(follower.total).toBe(900 + 1200 + 1800 + 100);
    expect(follower.table).toBe(follower.total - follower.blob);
  });

  it("adds a request per 1,000 members to the leader's list, past 1,000 nodes; followers read one digest", () => {
    const heartbeatsPerHour = 3_600_000 / MEMBERSHIP_DEFAULTS.heartbeatIntervalMs;
    expect(transactionsPerNodeHour({}, 1000).leader.byKind.membership).toBe(3 * heartbeatsPerHour);
    expect(transactionsPerNodeHour({}, 1001).leader.byKind.membership).toBe(4 * heartbeatsPerHour);
    expect(transactionsPerNodeHour({}, 1001).follower.byKind.membership).toBe(2 * heartbeatsPerHour);
  });

  it('prices a cluster per month with lease calls as blob "other" operations, and says it is an estimate', () => {
    const prices = {
      tablePer10k: 1,
      blobWritePer10k: 1000,
      blobReadPer10k: 7,
      blobOtherPer10k: 2,
      source: 't',
    };
    const estimate = estimateCost(3, { singletonTicksPerHour: 0 }, prices);
    expect(estimate.label).toBe('estimate');
    const { leader, follower } = estimate;
    expect(estimate.clusterPerHour).toBe(leader.total + 2 * follower.total);
    const blob = leader.blob + 2 * follower.blob;
    const table = leader.table + 2 * follower.table;
    expect(estimate.monthlyUsd).toBeCloseTo(((blob * 2 + table * 1) / 10_000) * 730, 1);
    expect(estimate.clusterByKindPerHour['bus-poll']).toBe(3 * follower.byKind['bus-poll']);
    // A prices file without the "other" price uses the read price (equal on the hot tier).
    const withoutOther = estimateCost(3, {}, { ...prices, blobOtherPer10k: undefined });
    expect(withoutOther.monthlyUsd).toBeCloseTo(((blob * 7 + table) / 10_000) * 730, 1);
    expect(DEFAULT_PRICES.source).toMatch(/recorded/);
  });

  it('grows linearly with replicas: the table status --cost prints for 3 … 1,000', () => {
    expect(DEFAULT_REPLICA_COUNTS).toEqual([3, 10, 50, 200, 1000]);
    const [three, ten] = [estimateCost(3), estimateCost(10)];
    expect(ten.clusterPerHour - three.clusterPerHour).toBe(7 * three.follower.total);
    expect(ten.monthlyUsd).toBeGreaterThan(three.monthlyUsd);
  });
});
