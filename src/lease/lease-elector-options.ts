import type { Clock } from '../clock/index.js';
import { ServerTimeEstimate, systemClock } from '../clock/index.js';
import { GossiplessError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { redactingLogger } from '../log/index.js';
import { resolveNodeIdentity } from '../node-id/index.js';
import type { StorageConnection } from '../storage/index.js';
import type { LeaderAnnouncer } from './leader-announcer.js';

/** Azure's lease limits (seconds 15–60); Azurite enforces the same. */
export const MIN_LEASE_DURATION_MS = 15_000;
/** Azure's longest finite lease. */
export const MAX_LEASE_DURATION_MS = 60_000;

/** Options of {@link LeaseElector}. */
export interface LeaseElectorOptions {
  /** Where the lease blob lives. */
  storage: StorageConnection;
  /** Cluster name: lowercase letters, digits and `-`. The lease blob is `<container>/<cluster>/leader`. */
  cluster: string;
  /** This node's id. @default host-pid-random */
  nodeId?: string;
  /** Blob container. @default 'gossipless' */
  container?: string;
  /** Lease duration L, 15000–60000 (Azure lease limits). @default 15000 */
  leaseDurationMs?: number;
  /**
   * Renew period R, on a fixed grid from the acquire (renewal k is sent at t0 + k·R). The grid is
   * written on the lease blob, so followers look at the lease only when it can first expire, once
   * per R. Safety does not depend on it (the step-down deadline does); a longer R leaves less time
   * to retry a failing renewal before step-down (L − safetyMargin − R).
   * @default leaseDurationMs / 2
   */
  renewIntervalMs?: number;
  /**
   * Follower attempt period, jittered ±25 %, used only while no renewal grid is known (a leader of
   * an older version, unreadable metadata). With a grid, followers look once per the leader's R.
   * Also the base of the backoff after failed epoch writes, and the pause after `resign()`.
   * @default leaseDurationMs / 2
   */
  retryIntervalMs?: number;
  /**
   * How long after each instant the lease can first expire (the leader's renewal grid) followers
   * look at it, written on the blob by the leader: room for a renewal sent or delivered late. A
   * larger value tolerates a slower leader; crash failover is about L + this. @default 300
   */
  expirySlackMs?: number;
  /** Leadership ends at t0 + L − safetyMarginMs, t0 taken before the last successful acquire/renew. @default 2000 */
  safetyMarginMs?: number;
  /** Deadline of each storage call; SDK retries are never relied on. @default 3000 */
  callTimeoutMs?: number;
  /** Wait before retrying a renew that failed transiently. @default 500 */
  renewRetryDelayMs?: number;
  /** Delay before the first acquire attempt (used to bias who campaigns first). @default 0 */
  initialDelayMs?: number;
  /** Whether this node campaigns at all; observers only watch. @default true */
  campaign?: boolean;
  /** Time source; tests inject one. @default systemClock */
  clock?: Clock;
  /** Announces elections and releases so followers react within one bus poll. */
  announcer?: LeaderAnnouncer;
  /** @default silent */
  logger?: Logger;
  /** Random source for jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * A server-time estimate the lease calls feed (their `Date` headers with send times), shared with
   * the node's other storage calls so it narrows. Used only to place the renewal grid (when
   * followers look at the lease), never for the leader's own timing, which stays on the monotonic
   * clock. @default a private estimate fed by the lease calls alone
   */
  serverTime?: ServerTimeEstimate;
  /**
   * Reads the highest epoch already used by this cluster from where epochs are stored besides the
   * lease blob (the cluster passes its singleton tick claims). Called once per successful acquire,
   * so a term's epoch is above every epoch used even when the blob's metadata was lost.
   */
  epochFloor?: (options: { abortSignal: AbortSignal }) => Promise<number>;
}

/** {@link LeaseElectorOptions} with every default filled in. */
export type ResolvedLeaseElectorOptions = Required<
  Omit<LeaseElectorOptions, 'announcer' | 'serverTime' | 'epochFloor'>
> & {
  announcer: LeaderAnnouncer | undefined;
  serverTime: ServerTimeEstimate;
  epochFloor: LeaseElectorOptions['epochFloor'];
};

function invalid(message: string): never {
  throw new GossiplessError('INVALID_OPTIONS', message);
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    invalid(`${name} must be an integer in ${min}–${max} ms, got ${String(value)}`);
  }
}

/**
 * Fills defaults and validates. Every combination that could let a renew attempt start too late
 * to keep the lease is rejected with the numbers involved.
 */
export function resolveLeaseElectorOptions(options: LeaseElectorOptions): ResolvedLeaseElectorOptions {
  const { nodeId } = resolveNodeIdentity(options);
  const container = options.container ?? 'gossipless';
  if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) {
    invalid(
      `container "${container}" is not a valid blob container name (3–63 lowercase letters, digits, '-')`,
    );
  }
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  if (!Number.isInteger(leaseDurationMs) || leaseDurationMs % 1000 !== 0) {
    invalid(`leaseDurationMs must be whole seconds in ms, got ${String(leaseDurationMs)}`);
  }
  if (leaseDurationMs < MIN_LEASE_DURATION_MS || leaseDurationMs > MAX_LEASE_DURATION_MS) {
    invalid(`leaseDurationMs must be 15000–60000 (Azure lease limits), got ${leaseDurationMs}`);
  }
  const renewIntervalMs = options.renewIntervalMs ?? Math.floor(leaseDurationMs / 2);
  const retryIntervalMs = options.retryIntervalMs ?? Math.floor(leaseDurationMs / 2);
  const expirySlackMs = options.expirySlackMs ?? 300;
  const safetyMarginMs = options.safetyMarginMs ?? 2000;
  const callTimeoutMs = options.callTimeoutMs ?? 3000;
  const renewRetryDelayMs = options.renewRetryDelayMs ?? 500;
  const initialDelayMs = options.initialDelayMs ?? 0;
  requireInteger('renewIntervalMs', renewIntervalMs, 100);
  requireInteger('retryIntervalMs', retryIntervalMs, 50);
  requireInteger('safetyMarginMs', safetyMarginMs, 0, leaseDurationMs / 2);
  requireInteger('callTimeoutMs', callTimeoutMs, 100);
  requireInteger('renewRetryDelayMs', renewRetryDelayMs, 10);
  requireInteger('expirySlackMs', expirySlackMs, 0, 5000);
  requireInteger('initialDelayMs', initialDelayMs, 0);
  if (renewIntervalMs + callTimeoutMs >= leaseDurationMs - safetyMarginMs) {
    invalid(
      `renewIntervalMs (${renewIntervalMs}) + callTimeoutMs (${callTimeoutMs}) must be less than ` +
        `leaseDurationMs − safetyMarginMs (${leaseDurationMs - safetyMarginMs}), or a slow renew could not complete before step-down`,
    );
  }
  return {
    storage: options.storage,
    cluster: options.cluster,
    nodeId,
    container,
    leaseDurationMs,
    renewIntervalMs,
    retryIntervalMs,
    expirySlackMs,
    safetyMarginMs,
    callTimeoutMs,
    renewRetryDelayMs,
    initialDelayMs,
    campaign: options.campaign ?? true,
    clock: options.clock ?? systemClock,
    announcer: options.announcer,
    logger: redactingLogger(options.logger),
    random: options.random ?? Math.random,
    serverTime: options.serverTime ?? new ServerTimeEstimate(options.clock ?? systemClock),
    epochFloor: options.epochFloor,
  };
}
