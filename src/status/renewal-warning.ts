import { resolveLeaseElectorOptions } from '../lease/index.js';
import type { StorageConnection } from '../storage/index.js';

/** The nodes' lease timings as status judges a renewal by them. */
export interface RenewalTimings {
  /** The nodes' lease duration L. @default 15000 */
  leaseDurationMs?: number | undefined;
  /** The nodes' renew period R. @default the lease elector's (L / 2) */
  renewIntervalMs?: number | undefined;
}

/**
 * The oldest a healthy leader's renewal can be when its heartbeat records it: renewal k is sent on
 * the grid at t0 + k·R and recorded as of its send time, and renewal k + 1 completes within the
 * call deadline, so R + callTimeoutMs (from the lease elector's own defaults, not copied here).
 * A renewal normally completes far sooner than its deadline, which leaves room for the heartbeat's
 * own latency.
 */
export function healthyRenewalAgeMs(timings: RenewalTimings, storage: StorageConnection): number {
  const lease = resolveLeaseElectorOptions({
    storage,
    cluster: 'status',
    nodeId: 'status',
    ...(timings.leaseDurationMs !== undefined ? { leaseDurationMs: timings.leaseDurationMs } : {}),
    ...(timings.renewIntervalMs !== undefined ? { renewIntervalMs: timings.renewIntervalMs } : {}),
  });
  return lease.renewIntervalMs + lease.callTimeoutMs;
}

/**
 * The warning for a leader whose renewals are failing, or undefined. The leader's member row
 * records its last renewal once per heartbeat, so the renewal age seen now is the age it had at that
 * heartbeat plus the heartbeat's own age (up to R + a heartbeat interval, 22.5 s at the defaults,
 * past the lease itself). Judged at the heartbeat instead, by the server clock: its renewal was
 * then at most {@link healthyRenewalAgeMs} old unless a renewal failed or was late.
 *
 * @param lastRenewalAgoMs - server now − the renewal time the leader's row records
 * @param heartbeatAgeMs - server now − that row's server timestamp
 */
export function renewalWarning(
  lastRenewalAgoMs: number,
  heartbeatAgeMs: number,
  healthyAgeMs: number,
): string | undefined {
  const ageAtHeartbeatMs = lastRenewalAgoMs - heartbeatAgeMs;
  if (ageAtHeartbeatMs <= healthyAgeMs) return undefined;
  return (
    `the leader's last renewal was ${Math.round(ageAtHeartbeatMs / 1000)} s old at its last heartbeat ` +
    `(at most ${Math.round(healthyAgeMs / 1000)} s when renewals succeed): renewals are failing`
  );
}
