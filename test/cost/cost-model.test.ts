import { describe, expect, it } from 'vitest';
import { estimateCost, transactionsPerNodeHour } from '../../src/cost/index.js';

describe('cost model', () => {
  it('stays under 10,000 storage transactions per node-hour at the default timings', () => {
    const { leader, follower } = transactionsPerNodeHour();
    expect(leader).toEqual({ blob: 720, table: 5040, total: 5760 });
    expect(follower).toEqual({ blob: 1800, table: 5040, total: 6840 });
  });

  it('prices a cluster per month and says it is an estimate', () => {
    const estimate = estimateCost(3);
    expect(estimate.label).toBe('estimate');
    expect(estimate.clusterPerHour).toBe(5760 + 2 * 6840);
    expect(estimate.monthlyUsd).toBeGreaterThan(0);
    expect(estimate.prices.source).toMatch(/recorded/);
  });
});
