/**
 * The leader's renewal grid, as written on the lease blob's metadata for followers.
 *
 * A leader renews on a fixed grid from its acquire: the k-th renewal is sent at t0 + k·R on its
 * monotonic clock (t0 read before the acquire was sent). Each renewal extends the lease to at most
 * (server time when it arrived) + L, so if the leader dies after renewal k the lease can first be
 * free at about `origin + k·R + L`, where `origin` is the server's time at t0. Followers that know
 * `origin`, R and L look at the lease just after each of those instants instead of every few
 * seconds: one read per R instead of one acquire per retry interval.
 *
 * `origin` is written as an upper bound of the server's clock at t0 (the leader's server-time
 * estimate, see {@link ServerTimeEstimate}), and a follower waits until a lower bound of its own
 * estimate passes the instant, plus `slackMs` for a renewal that left a little late. So a follower
 * never looks too early for an on-time renewal, whatever the two nodes' clocks say. Looking early
 * or late never affects safety: the store refuses an acquire while the lease is held.
 */

import { epochOfMetadata } from './read-leader.js';

/** Metadata key of the grid on the lease blob (Azure lowercases metadata keys). */
export const RENEW_GRID_KEY = 'renewgrid';

/** A term's renewal grid. */
export interface RenewGrid {
  /** Epoch of the term the grid belongs to. */
  epoch: number;
  /** Upper bound of the server's clock (ms since the epoch) when the leader sent its acquire. */
  originMs: number;
  /** The leader's renew interval R. */
  renewIntervalMs: number;
  /** The lease duration L the leader acquired with. */
  leaseDurationMs: number;
  /** How long after each possible expiry followers look: room for a renewal sent a little late. */
  slackMs: number;
}

/** The metadata value: `origin/renew/lease/slack`, integers. */
export function formatRenewGrid(grid: Omit<RenewGrid, 'epoch'>): string {
  return [grid.originMs, grid.renewIntervalMs, grid.leaseDurationMs, grid.slackMs]
    .map((n) => String(Math.round(n)))
    .join('/');
}

/** Reads a grid from the blob's metadata; undefined when absent or malformed (an older leader). */
export function parseRenewGrid(metadata: Record<string, string> | undefined): RenewGrid | undefined {
  const raw = metadata?.[RENEW_GRID_KEY];
  const epoch = epochOfMetadata(metadata);
  if (typeof raw !== 'string' || epoch === 0) return undefined;
  const parts = raw.split('/').map(Number);
  if (parts.length !== 4 || !parts.every((n) => Number.isSafeInteger(n))) return undefined;
  const [originMs, renewIntervalMs, leaseDurationMs, slackMs] = parts as [number, number, number, number];
  if (originMs <= 0 || renewIntervalMs < 100 || leaseDurationMs < 1000 || slackMs < 0) return undefined;
  return { epoch, originMs, renewIntervalMs, leaseDurationMs, slackMs };
}

/**
 * The first instant, by the server's clock, after `afterServerMs` at which a follower should look
 * at the lease: `origin + L + slack + k·R` for the smallest k ≥ 0 that lies after it.
 */
export function nextGridLook(grid: RenewGrid, afterServerMs: number): number {
  const first = grid.originMs + grid.leaseDurationMs + grid.slackMs;
  const k = Math.max(0, Math.floor((afterServerMs - first) / grid.renewIntervalMs) + 1);
  return first + k * grid.renewIntervalMs;
}
