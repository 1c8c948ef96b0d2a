import { describe, expect, it } from 'vitest';
import { LeaseElector } from '../../src/lease/index.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';
import { stoppedAfterEach } from '../helpers/stopped-after-each.js';

const started = stoppedAfterEach<LeaseElector>();

describe('LeaseElector expiry hint', () => {
  it('takes over a crashed leader about L after its last renewal, not L + retry, without extra attempts before', async () => {
    const cluster = uniqueName('h');
    const storage = testStorage();
    // A leader that acquires once and then dies: nobody renews or releases its lease.
    await storage.createContainerIfNotExists('gossipless');
    const blob = storage.containerClient('gossipless').getBlockBlobClient(`${cluster}/leader`);
    await blob.upload('', 0);
    const renewedAt = Date.now();
    await blob.getBlobLeaseClient().acquireLease(15);

    // The follower retries only every 10 s (±25 %): on its own it would take over up to 12.5 s late.
    const follower = new LeaseElector({
      storage,
      cluster,
      nodeId: 'follower',
      retryIntervalMs: 10_000,
      random: () => 0.99,
    });
    started.push(follower);
    const errors: string[] = [];
    follower.on('error', (e) => errors.push(e.during));
    await follower.start();
    // What its membership view would tell it: the leader's row says when it last renewed.
    follower.noteLeaderRenewal(renewedAt, Date.now());
    await waitFor(() => follower.isLeader, 20_000, 'takeover');
    const takeoverMs = Date.now() - renewedAt;
    expect(takeoverMs).toBeGreaterThanOrEqual(15_000);
    expect(takeoverMs).toBeLessThan(15_000 + 1_000);
    expect(errors).toEqual([]);
  }, 30_000);
});
