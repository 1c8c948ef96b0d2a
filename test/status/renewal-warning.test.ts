import { describe, expect, it } from 'vitest';
import { healthyRenewalAgeMs, renewalWarning } from '../../src/status/index.js';
import { MEMBERSHIP_DEFAULTS } from '../../src/membership/index.js';
import { resolveLeaseElectorOptions } from '../../src/lease/index.js';
import { testStorage } from '../helpers/storage.js';

const storage = testStorage();
const lease = resolveLeaseElectorOptions({ storage, cluster: 'status', nodeId: 'status' });

describe('the renewal warning of status', () => {
  it('follows the lease elector: R + callTimeoutMs at its defaults, and for a given L or R', () => {
    expect(healthyRenewalAgeMs({}, storage)).toBe(lease.renewIntervalMs + lease.callTimeoutMs);
    expect(healthyRenewalAgeMs({ leaseDurationMs: 30_000 }, storage)).toBe(15_000 + lease.callTimeoutMs);
    expect(healthyRenewalAgeMs({ renewIntervalMs: 5000 }, storage)).toBe(5000 + lease.callTimeoutMs);
  });

  it('stays quiet for a healthy leader seen through a late heartbeat, past L − 2 s', () => {
    const healthy = healthyRenewalAgeMs({}, storage);
    // Renewed just before its grid's next instant, then heartbeated almost a whole interval ago:
    // 21 s since the recorded renewal, beyond the lease itself, yet nothing failed.
    const heartbeatAgeMs = MEMBERSHIP_DEFAULTS.heartbeatIntervalMs - 1000;
    const lastRenewalAgoMs = heartbeatAgeMs + lease.renewIntervalMs - 500;
    expect(lastRenewalAgoMs).toBeGreaterThan(lease.leaseDurationMs);
    expect(renewalWarning(lastRenewalAgoMs, heartbeatAgeMs, healthy)).toBeUndefined();
  });

  it('warns when the renewal was already overdue at the heartbeat that recorded it', () => {
    const healthy = healthyRenewalAgeMs({}, storage);
    // A fresh heartbeat recording a renewal 12 s old: one renewal failed and is being retried.
    const warning = renewalWarning(12_200, 200, healthy);
    expect(warning).toContain('renewals are failing');
    expect(warning).toContain('12 s old at its last heartbeat');
  });
});
