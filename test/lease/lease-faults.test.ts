import { describe, expect, it } from 'vitest';
import { LeaseElector, type LeaseElectorOptions } from '../../src/lease/index.js';
import type { GossiplessError } from '../../src/errors/index.js';
import { testStorage, uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';
import { faultProxiesForFile } from '../helpers/fault-proxies.js';
import { stoppedAfterEach } from '../helpers/stopped-after-each.js';

const started = stoppedAfterEach<LeaseElector>();
const proxied = faultProxiesForFile();

function elector(options: Partial<LeaseElectorOptions> & { cluster: string }): LeaseElector {
  const e = new LeaseElector({ storage: testStorage(), retryIntervalMs: 200, ...options });
  started.push(e);
  return e;
}

/** Samples both nodes every 20 ms and records any moment both believe they lead. */
function watchOverlap(a: LeaseElector, b: LeaseElector): { overlaps: number; stop(): void } {
  const watch = { overlaps: 0, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    if (a.isLeader && b.isLeader) watch.overlaps++;
  }, 20);
  return watch;
}

describe('lease faults through a fault proxy (real Azurite behind it)', () => {
  it('a release of term N delayed past the same node’s acquire of term N+1 does not end the new term', async () => {
    const cluster = uniqueName('rel');
    const proxy = await proxied();
    let delayReleases = false;
    // Held past a's call deadline (3 s), past the old lease's expiry and a's re-acquire, then delivered.
    proxy.setRule((r) =>
      delayReleases && r.leaseAction === 'release' ? { kind: 'delay', ms: 22_000 } : undefined,
    );
    const a = elector({
      cluster,
      nodeId: 'a',
      storage: proxy.connect(),
    });
    await a.start();
    await waitFor(() => a.isLeader, 10_000, 'a leads');
    // b only campaigns once a leads term 2, so that a is the one to re-acquire while its release is held.
    const b = elector({ cluster, nodeId: 'b', campaign: false });
    await b.start();
    const demotions: string[] = [];
    a.on('demoted', (e) => demotions.push(e.reason));
    const overlap = watchOverlap(a, b);
    delayReleases = true;
    const releasedAt = Date.now();
    // a's release is held by the proxy (a gives up after its call deadline); the old lease expires
    // at the server and a acquires term 2. With one lease id for every term, a's re-acquire proposed
    // the id of the release still in flight, which then ended term 2 while a kept leading.
    await a.resign();
    await waitFor(() => a.epoch === 2, 25_000, 'a leads term 2');
    b.setCampaign(true);
    // The held release is delivered ~22 s after it was sent; a's next renewal comes after it.
    await new Promise((r) => setTimeout(r, Math.max(0, releasedAt + 22_000 + 8_000 - Date.now())));
    overlap.stop();
    expect(overlap.overlaps).toBe(0);
    expect(demotions).toEqual(['resigned']);
    expect(a.isLeader).toBe(true);
    expect(a.epoch).toBe(2);
    expect(proxy.blob.records.some((r) => r.request.leaseAction === 'release' && r.action === 'delay')).toBe(
      true,
    );
  }, 60_000);

  it('a 403 on the epoch write releases the lease at once, names the missing permission, and backs off', async () => {
    const cluster = uniqueName('perm');
    const proxy = await proxied();
    proxy.setRule((r) =>
      r.comp === 'metadata' && r.method === 'PUT'
        ? { kind: 'respond', status: 403, errorCode: 'AuthorizationPermissionMismatch' }
        : undefined,
    );
    const a = elector({
      cluster,
      nodeId: 'a',
      storage: proxy.connect(),
    });
    const errors: GossiplessError[] = [];
    a.on('error', (e) => errors.push(e.error));
    a.on('elected', () => errors.push(new Error('a must never lead without an epoch') as GossiplessError));
    await a.start();
    await waitFor(() => errors.some((e) => e.code === 'STORAGE_FORBIDDEN'), 10_000, 'a typed 403');
    const forbidden = errors.find((e) => e.code === 'STORAGE_FORBIDDEN')!;
    expect(forbidden.message).toContain('Storage Blob Data Contributor');
    expect(forbidden.message).toContain('blob write');
    // Backoff: with a 200 ms retry interval, ~20 acquires in 4 s without it.
    proxy.blob.reset();
    await new Promise((r) => setTimeout(r, 4000));
    const acquires = proxy.blob.records.filter((r) => r.request.leaseAction === 'acquire').length;
    expect(acquires).toBeLessThanOrEqual(8);
    // The lease was released, so a node with the permission leads long before the 15 s lease ends.
    const b = elector({ cluster, nodeId: 'b' });
    const bStart = Date.now();
    await b.start();
    await waitFor(() => b.isLeader, 10_000, 'b leads');
    expect(Date.now() - bStart).toBeLessThan(10_000);
    expect(a.isLeader).toBe(false);
    expect(errors.some((e) => e.message === 'a must never lead without an epoch')).toBe(false);
  }, 40_000);

  it('bursts of 503 ServerBusy with retry-after: renewals back off by the retry-after and the leader never steps down', async () => {
    const cluster = uniqueName('busy');
    const proxy = await proxied();
    let busy = false;
    proxy.setRule((r) =>
      busy && r.service === 'blob'
        ? { kind: 'respond', status: 503, errorCode: 'ServerBusy', headers: { 'x-ms-retry-after-ms': '900' } }
        : undefined,
    );
    // Renew every second so the bursts below hit several renewals; lease 15 s, margin 2 s.
    const a = elector({
      cluster,
      nodeId: 'a',
      renewIntervalMs: 1000,
      storage: proxy.connect(),
    });
    const demotions: string[] = [];
    a.on('demoted', (e) => demotions.push(e.reason));
    await a.start();
    await waitFor(() => a.isLeader, 10_000, 'a leads');
    proxy.blob.reset();
    for (let burst = 0; burst < 3; burst++) {
      busy = true;
      await new Promise((r) => setTimeout(r, 3000));
      busy = false;
      await new Promise((r) => setTimeout(r, 1500));
    }
    expect(demotions).toEqual([]);
    expect(a.isLeader).toBe(true);
    const throttled = proxy.blob.records.filter((r) => r.request.leaseAction === 'renew' && r.status === 503);
    expect(throttled.length).toBeGreaterThanOrEqual(3);
    // After each 503 the next renew waited at least the server's 900 ms (a fixed 500 ms retry did not).
    const renews = proxy.blob.records.filter((r) => r.request.leaseAction === 'renew');
    for (let i = 1; i < renews.length; i++) {
      if (renews[i - 1]!.status === 503)
        expect(renews[i]!.at - renews[i - 1]!.at).toBeGreaterThanOrEqual(880);
    }
  }, 40_000);
});
