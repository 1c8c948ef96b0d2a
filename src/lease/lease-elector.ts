/**
 * Leader election by blob lease, with a fencing epoch per term. The algorithm (its safety argument
 * is in docs/leader-election.md, one section per step):
 *
 * 1. Acquire the lease blob with a lease id proposed for this term only ({@link LeaseElector}
 *    `#tryAcquire`); a retry of the same acquire reuses it, a new term never does (`#freshLeaseId`).
 * 2. Under the lease, write epoch = max(blob epoch, floor of epochs already used, own last) + 1
 *    (`#writeEpoch`, floor from the `epochFloor` option); if that write fails, release and back off
 *    (`#abandonAcquire`).
 * 3. Lead until t0 + L − safetyMargin on the monotonic clock, t0 taken before the acquire/renew was
 *    sent: the step-down timer and every `isLeader` read enforce it (`#lead`, `isLeader`).
 * 4. Renew on a fixed grid (t0 + k·renewInterval), ahead of membership and bus traffic, retrying
 *    throttled and failed renewals with backoff that honours retry-after but never past the
 *    step-down (`#lead`). The grid is on the blob's metadata (`renew-grid.ts`): followers look at
 *    the lease just after each instant it can first expire, once per renewInterval, and acquire
 *    when it is free (`#leaseLooksFree`, `#nextAttemptDelay`).
 * 5. Step down at once on a lease-lost answer, the deadline, or a fenced claim (`#demote`,
 *    `raiseEpochFloor`).
 * 6. On stop: abort leader work, wait for it within the lease, keep the lease until just before
 *    the followers' next look (`#handoverAt`), then release with the term's own lease id and
 *    announce (`stop`, `#release`). `resign()` and an immediate stop release at once.
 */
import { randomUUID } from 'node:crypto';
import type { BlobLeaseClient, BlockBlobClient } from '@azure/storage-blob';
import { sleep } from '../clock/index.js';
import { TypedEmitter } from '../events/index.js';
import { redactUnknown } from '../redact/index.js';
import {
  backoffDelayMs,
  deadlineSignal,
  isForbidden,
  isLeaseAlreadyPresent,
  isNotFound,
  isLeaseLost,
  isTransient,
  retryTransient,
  storageStatusCode,
  storageFailure,
} from '../storage/index.js';
import { GossiplessError } from '../errors/index.js';
import { leaseTelemetry, type LeaseTelemetry, type LeaseTelemetrySource } from '../telemetry/index.js';
import type { LeaderAnnouncement } from './leader-announcer.js';
import {
  resolveLeaseElectorOptions,
  type LeaseElectorOptions,
  type ResolvedLeaseElectorOptions,
} from './lease-elector-options.js';

import { epochOfMetadata, readLeaderInfo, type LeaderInfo } from './read-leader.js';
import {
  formatRenewGrid,
  nextGridLook,
  parseRenewGrid,
  RENEW_GRID_KEY,
  type RenewGrid,
} from './renew-grid.js';

/** Retry period right after a leader's lease can have expired (expiry hints, no grid known). */
const EXPIRY_RETRY_MS = 250;
/** Slack added to the expected expiry of a hint: the server's clock is known to about a second. */
const EXPIRY_SLACK_MS = 100;
/**
 * A stopping leader releases this long before the followers' next look at the lease (at most half
 * the expiry slack), so the release reaches the server first: the look lands after it by the
 * clock bounds of both nodes (see `renew-grid.ts`).
 */
const RELEASE_LEAD_MS = 100;
/** The leader re-writes its grid when its server-time estimate has narrowed by at least this much… */
const GRID_REFINE_MIN_MS = 100;
/** …at most this often. */
const GRID_REFINE_EVERY_MS = 30_000;

/** Options of {@link LeaseElector.stop}. */
export interface LeaseStopOptions {
  /**
   * Release at once instead of at the followers' next look at the lease (the leadership gap is
   * then up to one renew interval, unless followers hear the bus announcement first).
   * @default false
   */
  immediate?: boolean;
  /** Aborting it during the wait for the handover releases at once; already aborted = `immediate`. */
  signal?: AbortSignal;
}

/** Why a node stopped being leader. */
export type DemotionReason =
  /** The store said the lease is no longer ours (409/412). */
  | 'lease-lost'
  /** Renewals did not succeed before t0 + L − safetyMargin on the monotonic clock. */
  | 'renew-timeout'
  /** `stop()` was called. */
  | 'stopped'
  /** `resign()` was called: the lease was handed back while the node keeps running. */
  | 'resigned'
  /** A singleton claim showed a higher epoch already used: the term ended to move the epoch above it. */
  | 'fenced';

/** Events of {@link LeaseElector}. Names and payloads are part of the public API. */
export interface LeaseElectorEvents {
  /** This node became leader for term `epoch`. */
  elected: { epoch: number };
  /** A renewal succeeded: term `epoch` now ends at monotonic time `stepDownAt` unless renewed again. */
  renewed: { epoch: number; stepDownAt: number };
  /** This node stopped being leader of term `epoch`. */
  demoted: { epoch: number; reason: DemotionReason };
  /** The cluster's leader changed, as far as this node can tell; `holder` undefined means released. */
  'leader-changed': { holder: string | undefined; epoch: number };
  /** A storage call failed; the elector keeps going. */
  error: { error: GossiplessError; during: 'setup' | 'acquire' | 'epoch' | 'renew' | 'release' | 'announce' };
  /**
   * The epoch stored on the lease blob was below an epoch already used (the blob was deleted and
   * recreated, its metadata edited, or the account failed over): the new term starts above `floor`.
   */
  'epoch-floor': { stored: number; floor: number; epoch: number };
}

interface Term {
  readonly epoch: number;
  /** The lease client holding this term's own lease id: renew and release use it, nothing else. */
  readonly leaseClient: BlobLeaseClient;
  /** Leadership ends at this monotonic time unless a renew moves it. */
  stepDownAt: number;
  /** Monotonic time before the last successful acquire/renew was sent. */
  confirmedAt: number;
  /** Aborted the moment leadership ends or stop() begins: the signal leader jobs get. */
  readonly jobs: AbortController;
  /** Ends the renew loop. */
  readonly lease: AbortController;
  demoted: boolean;
  /** Monotonic time before the acquire was sent: the origin of the renewal grid. */
  readonly gridT0: number;
  /** The grid origin written on the blob (server ms, upper bound), if one was written. */
  gridOrigin: number | undefined;
  /** Monotonic time of the last grid (re)write. */
  gridWrittenAt: number;
  /** Set by a graceful stop: the monotonic time the lease will be released. */
  releaseAt: number | undefined;
  /** The `since` written on the blob (kept when the grid is re-written). */
  readonly since: string;
}

/**
 * Leader election by blob lease, with a fencing epoch per term. See the six steps at the top of this
 * file and docs/leader-election.md for the algorithm and its safety argument.
 *
 * @example
 * ```ts
 * const elector = new LeaseElector({ storage: connectStorage(), cluster: 'orders' });
 * elector.on('elected', ({ epoch }) => console.log('leading term', epoch));
 * await elector.start();
 * // … elector.leaderSignal aborts the moment leadership ends
 * await elector.stop();
 * ```
 */
export class LeaseElector extends TypedEmitter<LeaseElectorEvents> {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedLeaseElectorOptions;
  readonly #blob: BlockBlobClient;
  /** The lease id proposed by the next acquire; replaced once a term has used it (step 1). */
  #lease: BlobLeaseClient;
  #term: Term | undefined;
  #lastEpoch = 0;
  /** Highest epoch known to be used (claims seen fenced, earlier terms): the next epoch is above it. */
  #epochFloor = 0;
  /** Consecutive acquires whose epoch write failed: the next campaign backs off exponentially. */
  #epochFailures = 0;
  #running: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #stop = new AbortController();
  #nudge = new AbortController();
  /** Aborted when an expiry hint arrives, so a follower's wait is re-planned (not cut short). */
  #replan = new AbortController();
  #blobReady = false;
  readonly #leaderWork = new Set<Promise<unknown>>();
  #unsubscribe: (() => void) | undefined;
  #lastKnownLeader: { holder: string | undefined; epoch: number } | undefined;
  #campaigning: boolean;
  /** Monotonic time at which the current leader's lease can first expire, if a hint said so. */
  #expectedExpiry: number | undefined;
  /** The current leader's renewal grid, as last read from the blob (undefined: not known). */
  #grid: RenewGrid | undefined;
  /** Server time of the last grid look planned: the next one is after it. */
  #lastLook = Number.NEGATIVE_INFINITY;
  /**
   * Consecutive attempts whose look or acquire failed (timeout, 5xx, reset), and the last error:
   * the next attempt comes after a backoff instead of a renew interval later, so an overloaded or
   * throttled store does not cost a follower a whole grid step per failed call.
   */
  #attemptFailures: { count: number; error: unknown } = { count: 0, error: undefined };
  /** Aborted by an immediate stop: a graceful stop waiting for the handover releases at once. */
  readonly #releaseNow = new AbortController();
  #resigning: Promise<void> | undefined;
  readonly #telemetry: LeaseTelemetry;

  constructor(options: LeaseElectorOptions) {
    super((error, event) =>
      this.options.logger.error(`a '${event}' listener threw: ${redactUnknown(error)}`),
    );
    this.options = resolveLeaseElectorOptions(options);
    this.#campaigning = this.options.campaign;
    const { storage, container, cluster } = this.options;
    this.#blob = storage.containerClient(container).getBlockBlobClient(`${cluster}/leader`);
    this.#lease = this.#blob.getBlobLeaseClient(randomUUID());
    this.#telemetry = leaseTelemetry(this.#telemetrySource());
  }

  /**
   * A new lease id for the next term. A release (or renew) of an earlier term that the network
   * delays past this node's next acquire carries the old id, so the server refuses it instead of
   * ending the new term's lease.
   */
  #freshLeaseId(): void {
    this.#lease = this.#blob.getBlobLeaseClient(randomUUID());
  }

  /** This node's id. */
  get nodeId(): string {
    return this.options.nodeId;
  }

  /**
   * True while this node leads. Checked against the monotonic clock, so it turns false at
   * t0 + L − safetyMargin even if the step-down timer has not run yet (e.g. after a pause).
   */
  get isLeader(): boolean {
    const term = this.#term;
    return term !== undefined && !term.demoted && this.options.clock.monotonicNow() < term.stepDownAt;
  }

  /** Epoch of the current term while leader, otherwise undefined. */
  get epoch(): number | undefined {
    return this.isLeader ? this.#term?.epoch : undefined;
  }

  /**
   * Monotonic time at which the current term ends unless a renewal moves it (undefined when not
   * leader). Jobs compare `clock.monotonicNow()` against it themselves (see {@link isLeaderOf}).
   */
  get stepDownAt(): number | undefined {
    return this.isLeader ? this.#term?.stepDownAt : undefined;
  }

  /**
   * True while this node leads term `epoch`, read from the monotonic clock against the step-down
   * deadline at the moment of the call. Unlike a signal's `aborted`, which flips only when a timer
   * runs, this is false right after a blocked event-loop turn has carried the job past the deadline.
   */
  isLeaderOf(epoch: number): boolean {
    return this.isLeader && this.#term?.epoch === epoch;
  }

  /** The signal leader work runs under: aborted when leadership ends. Already aborted when not leader. */
  get leaderSignal(): AbortSignal {
    const term = this.#term;
    if (term && this.isLeader) return term.jobs.signal;
    return AbortSignal.abort(new GossiplessError('STOPPED', 'not the leader'));
  }

  /**
   * Registers work done as leader, so `stop()` waits for it to settle before releasing the lease.
   */
  trackLeaderWork(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#leaderWork.add(settled);
    void settled.then(() => this.#leaderWork.delete(settled));
  }

  /** Reads who leads from the blob, without holding anything. */
  async leader(options: { abortSignal?: AbortSignal } = {}): Promise<LeaderInfo> {
    return readLeaderInfo(this.options.storage, this.options, options);
  }

  /** Starts campaigning (or only observing with `campaign: false`). Idempotent; never throws on storage outages. */
  start(): Promise<void> {
    if (this.#stop.signal.aborted) {
      return Promise.reject(new GossiplessError('STOPPED', 'this elector was stopped; create a new one'));
    }
    if (!this.#running) {
      this.#unsubscribe = this.options.announcer?.onAnnouncement((a) => this.#onAnnouncement(a));
      this.#running = this.#loop().catch((error: unknown) => {
        // The loop catches every storage failure; reaching here is a bug, reported not swallowed.
        this.options.logger.error(`lease loop ended unexpectedly: ${redactUnknown(error)}`);
        throw error;
      });
    }
    return Promise.resolve();
  }

  /**
   * Steps down gracefully: aborts leader work (the leader signal) and waits for it (bounded by the
   * lease time left), then keeps the lease until just before the followers' next look at it (at
   * most one renew interval + the expiry slack, 7.8 s at the defaults), releases it and announces
   * the release, so a follower is elected right after (`demoted` to the next `elected`: well under
   * a second). `isLeader` stays true until the release; no leader work starts meanwhile.
   * `{ immediate: true }` or an aborted `signal` releases at once (a later call can cut a waiting
   * stop short). Idempotent; resolves when all has settled.
   */
  stop(options: LeaseStopOptions = {}): Promise<void> {
    if (options.immediate || options.signal?.aborted) this.#releaseNow.abort();
    else options.signal?.addEventListener('abort', () => this.#releaseNow.abort(), { once: true });
    this.#stopping ??= this.#stopNow();
    return this.#stopping;
  }

  async #stopNow(): Promise<void> {
    const term = this.#term;
    const { clock, callTimeoutMs } = this.options;
    if (term && !term.demoted) {
      term.jobs.abort(new GossiplessError('STOPPED', 'leader is stopping'));
      // Keep renewing while jobs settle, but never wait past the lease we already hold.
      const timeLeft = term.stepDownAt - clock.monotonicNow();
      if (timeLeft > 0 && this.#leaderWork.size > 0) {
        await Promise.race([Promise.all(this.#leaderWork), sleep(timeLeft)]);
      }
      // Hand over on the grid: release just before the followers look, so one of them acquires
      // at once instead of up to a renew interval later.
      const releaseAt = this.#leaderWork.size === 0 && this.isLeader ? this.#handoverAt(term) : undefined;
      if (releaseAt !== undefined && !this.#releaseNow.signal.aborted) {
        term.releaseAt = releaseAt;
        await sleep(releaseAt - clock.monotonicNow(), this.#releaseNow.signal, term.lease.signal);
      }
    }
    this.#stop.abort();
    this.#nudge.abort();
    await this.#running?.catch(() => undefined);
    this.#unsubscribe?.();
    if (term && !term.demoted) {
      // Leader work still running ignored its signal: releasing would let a new leader start
      // beside it, so the lease is left to expire at the server instead.
      const stillOurs = this.isLeader && this.#leaderWork.size === 0;
      this.#demote(term, 'stopped');
      if (stillOurs) {
        await this.#release(term.leaseClient, callTimeoutMs);
        await this.#announce({ type: 'released', holder: this.nodeId, epoch: term.epoch });
      }
    }
    this.#telemetry.close();
  }

  /**
   * When a stopping leader should release: just before the followers' next look at the lease
   * (grid instant + slack − lead, on this node's monotonic clock, which the written grid origin
   * bounds from above): at most renewInterval + slack ahead, or L + slack in a term's first renew
   * interval (no follower looks before the lease's first possible expiry). The renew loop keeps
   * renewing meanwhile when the lease would not last until then. Undefined (release now) when no
   * grid was written.
   */
  #handoverAt(term: Term): number | undefined {
    if (term.gridOrigin === undefined) return undefined;
    const lead = Math.min(RELEASE_LEAD_MS, this.options.expirySlackMs / 2);
    return this.#followersNextLook(term, this.options.clock.monotonicNow() + lead) - lead;
  }

  /**
   * The first instant at or after `at` at which followers look at this term's lease (grid instant
   * + slack), on this node's monotonic clock: at or after the lease's first possible expiry.
   */
  #followersNextLook(term: Term, at: number): number {
    const { leaseDurationMs, renewIntervalMs, expirySlackMs } = this.options;
    const first = term.gridT0 + leaseDurationMs + expirySlackMs;
    return first + Math.max(0, Math.ceil((at - first) / renewIntervalMs)) * renewIntervalMs;
  }

  /** Whether this node campaigns now (starts as the `campaign` option). */
  get campaigning(): boolean {
    return this.#campaigning;
  }

  /**
   * Starts or stops campaigning at run time (node-discover's `promote()` / `demote(true)`).
   * Turning it off does not end a current term: call {@link resign} for that.
   */
  setCampaign(enabled: boolean): void {
    this.#campaigning = enabled;
    this.#nudge.abort();
  }

  /**
   * Hands leadership back while the node keeps running: aborts leader work, waits for it (bounded
   * by the lease time left), releases the lease and announces the release. The node campaigns
   * again (if still campaigning) only after one retry interval, so a follower can take over.
   */
  resign(): Promise<void> {
    const term = this.#term;
    if (!term || term.demoted || this.#stop.signal.aborted) return this.#resigning ?? Promise.resolve();
    this.#resigning = (async () => {
      const { clock, callTimeoutMs } = this.options;
      term.jobs.abort(new GossiplessError('STOPPED', 'leader is resigning'));
      const timeLeft = term.stepDownAt - clock.monotonicNow();
      if (timeLeft > 0 && this.#leaderWork.size > 0) {
        await Promise.race([Promise.all(this.#leaderWork), sleep(timeLeft)]);
      }
      const stillOurs = this.isLeader && this.#leaderWork.size === 0;
      this.#demote(term, 'resigned');
      if (!stillOurs) return;
      await this.#release(term.leaseClient, callTimeoutMs);
      await this.#announce({ type: 'released', holder: this.nodeId, epoch: term.epoch });
    })();
    return this.#resigning;
  }

  /**
   * Releases a term's lease, retrying transient failures within one call deadline. Repeating is
   * safe: a release carries that term's own lease id, so it can never end a lease acquired since,
   * by another node or by this one (a later term has a fresh id).
   */
  async #release(leaseClient: BlobLeaseClient, callTimeoutMs: number): Promise<void> {
    const startedAt = this.options.clock.monotonicNow();
    try {
      await retryTransient(
        (abortSignal) => leaseClient.releaseLease({ abortSignal }),
        deadlineSignal(callTimeoutMs),
      );
      this.#telemetry.call('release', 'ok', this.options.clock.monotonicNow() - startedAt);
    } catch (error) {
      this.#telemetry.call('release', 'error', this.options.clock.monotonicNow() - startedAt);
      // Not released: followers take over when the lease expires instead.
      this.#reportError('release', error);
    }
  }

  async #loop(): Promise<void> {
    const stop = this.#stop.signal;
    if (this.options.initialDelayMs > 0) await sleep(this.options.initialDelayMs, stop);
    while (!stop.aborted) {
      if (!this.#campaigning) {
        if (this.#nudge.signal.aborted) this.#nudge = new AbortController();
        await sleep(60_000, stop, this.#nudge.signal);
        continue;
      }
      const term = await this.#campaign(stop);
      if (term) await this.#lead(term, stop);
      if (this.#resigning) {
        // Re-acquiring at once would win again before any follower heard the release, or looked
        // at the lease on the grid: pause past the followers' first look after the release.
        // A release announced by another node or setCampaign(true) ends the pause.
        const resigned = term;
        await this.#resigning;
        this.#resigning = undefined;
        if (this.#nudge.signal.aborted) this.#nudge = new AbortController();
        await sleep(this.#pauseAfterResign(resigned), stop, this.#nudge.signal);
      }
    }
  }

  /**
   * The retry interval, or until 1 s past the followers' first grid look after now if later, but
   * never more than renewInterval + slack + 1 s: in a term's first renew interval that look is up
   * to L away, and a node alone would lead nobody meanwhile (followers that heard the release
   * announcement have taken over by then).
   */
  #pauseAfterResign(term: Term | undefined): number {
    const { clock, retryIntervalMs, expirySlackMs, renewIntervalMs } = this.options;
    if (term?.gridOrigin === undefined) return retryIntervalMs;
    const now = clock.monotonicNow();
    const look = this.#followersNextLook(term, now);
    const pastLook = Math.min(look - now, renewIntervalMs + expirySlackMs) + 1000;
    return Math.max(retryIntervalMs, pastLook);
  }

  async #campaign(stop: AbortSignal): Promise<Term | undefined> {
    while (!stop.aborted && this.#campaigning) {
      const term = await this.#tryAcquire(stop);
      if (term) return term;
      if (this.#epochFailures > 0) await sleep(this.#epochBackoffMs(), stop);
      if (this.#nudge.signal.aborted) this.#nudge = new AbortController();
      await this.#waitForNextAttempt(stop);
    }
    return undefined;
  }

  /**
   * With the leader's renewal grid known: the next instant the lease can first expire, plus the
   * grid's slack, reached by the LOWER bound of this node's server-time estimate (so the look
   * lands after it by the server's clock, whatever the estimate's error): one look per renew
   * interval. Without a grid: the regular jittered retry, shortened around the moment the leader's
   * lease can first expire if a hint said so (see {@link noteLeaderRenewal}): try right then, and
   * every `EXPIRY_RETRY_MS` for a renew interval after it.
   */
  #nextAttemptDelay(): number {
    const { retryIntervalMs, random, renewIntervalMs, clock, serverTime } = this.options;
    const failures = this.#attemptFailures;
    const retry =
      failures.count > 0
        ? backoffDelayMs(failures.count - 1, failures.error, { baseMs: 500, capMs: 4000, minMs: 100, random })
        : Number.POSITIVE_INFINITY;
    const grid = this.#grid;
    const bounds = serverTime.bounds();
    if (grid && bounds) {
      const look = nextGridLook(grid, Math.max(bounds.lower, this.#lastLook));
      if (look - bounds.lower <= retry) {
        this.#lastLook = look;
        return look - bounds.lower;
      }
      return retry;
    }
    const regular = retryIntervalMs * (0.75 + random() * 0.5);
    if (failures.count > 0) return Math.min(retry, regular);
    const expiry = this.#expectedExpiry;
    if (expiry === undefined) return regular;
    const now = clock.monotonicNow();
    if (now < expiry) return Math.min(regular, expiry - now + EXPIRY_SLACK_MS);
    if (now < expiry + renewIntervalMs + EXPIRY_SLACK_MS) return Math.min(regular, EXPIRY_RETRY_MS);
    return regular;
  }

  /**
   * Waits until the next acquire attempt: the planned delay, cut short by a release announcement
   * (attempt at once) and re-planned, never lengthened, when a new expiry hint arrives.
   */
  async #waitForNextAttempt(stop: AbortSignal): Promise<void> {
    const { clock } = this.options;
    let attemptAt = clock.monotonicNow() + this.#nextAttemptDelay();
    while (!stop.aborted && !this.#nudge.signal.aborted && clock.monotonicNow() < attemptAt) {
      if (this.#replan.signal.aborted) this.#replan = new AbortController();
      await sleep(attemptAt - clock.monotonicNow(), stop, this.#nudge.signal, this.#replan.signal);
      if (this.#replan.signal.aborted)
        attemptAt = Math.min(attemptAt, clock.monotonicNow() + this.#nextAttemptDelay());
    }
  }

  /**
   * Tells a follower when the current leader last renewed, by the server's clock (its member row
   * carries it), and the server's time now. The lease cannot expire before renewal + L, so the
   * follower times its next attempts for that moment. A hint never lets anyone acquire early: the
   * store still refuses while the lease is held.
   */
  noteLeaderRenewal(leaseRenewedAtServerMs: number, serverNowMs: number): void {
    // A known grid already times the attempts; a hint from a stale member row would only add some.
    if (this.#grid !== undefined) return;
    if (this.isLeader || !Number.isFinite(leaseRenewedAtServerMs) || !Number.isFinite(serverNowMs)) return;
    const { clock, leaseDurationMs } = this.options;
    const expiry = clock.monotonicNow() + (leaseRenewedAtServerMs + leaseDurationMs - serverNowMs);
    if (this.#expectedExpiry !== undefined && Math.abs(expiry - this.#expectedExpiry) < 1) return;
    this.#expectedExpiry = expiry;
    this.#replan.abort();
  }

  async #ensureBlob(stop: AbortSignal): Promise<boolean> {
    if (this.#blobReady) return true;
    const { storage, container, callTimeoutMs } = this.options;
    try {
      await storage.createContainerIfNotExists(container, {
        abortSignal: deadlineSignal(callTimeoutMs, stop),
      });
      await this.#blob.upload('', 0, {
        conditions: { ifNoneMatch: '*' },
        abortSignal: deadlineSignal(callTimeoutMs, stop),
      });
      this.#blobReady = true;
    } catch (error) {
      const status = storageStatusCode(error);
      // 409 BlobAlreadyExists, or 412 when it exists and is leased: either way it is there.
      if (status === 409 || status === 412) this.#blobReady = true;
      else {
        this.#reportError('setup', error);
        if (!stop.aborted) this.#attemptFailures = { count: this.#attemptFailures.count + 1, error };
      }
    }
    return this.#blobReady;
  }

  /**
   * Reads the lease blob's properties: false while the lease is held (the metadata then gives the
   * current term's renewal grid), true when it can be acquired. One read per look costs the same
   * as a refused acquire, and keeps the grid current when the term changes. A failed read answers
   * true: the acquire decides.
   */
  async #leaseLooksFree(stop: AbortSignal): Promise<boolean> {
    const { clock, callTimeoutMs, serverTime } = this.options;
    const t0 = clock.monotonicNow();
    const sentAt = serverTime.monotonicNow();
    try {
      const props = await this.#blob.getProperties({ abortSignal: deadlineSignal(callTimeoutMs, stop) });
      this.#observeServerTime(props.date, sentAt);
      this.#attemptFailures = { count: 0, error: undefined };
      const held = props.leaseState === 'leased' || props.leaseState === 'breaking';
      if (!held) return true;
      this.#grid = parseRenewGrid(props.metadata);
      this.#telemetry.call('acquire', 'held', clock.monotonicNow() - t0);
      return false;
    } catch (error) {
      if (stop.aborted) return false;
      if (isNotFound(error)) {
        this.#blobReady = false;
        return this.#ensureBlob(stop);
      }
      this.#reportError('acquire', error);
      this.#attemptFailures = { count: this.#attemptFailures.count + 1, error };
      return true;
    }
  }

  async #tryAcquire(stop: AbortSignal): Promise<Term | undefined> {
    if (!(await this.#ensureBlob(stop))) return undefined;
    if (!(await this.#leaseLooksFree(stop))) return undefined;
    const { clock, leaseDurationMs, safetyMarginMs, callTimeoutMs } = this.options;
    const t0 = clock.monotonicNow();
    const sentAt = this.options.serverTime.monotonicNow();
    try {
      const response = await this.#lease.acquireLease(leaseDurationMs / 1000, {
        abortSignal: deadlineSignal(callTimeoutMs, stop),
      });
      this.#observeServerTime(response.date, sentAt);
      this.#telemetry.call('acquire', 'ok', clock.monotonicNow() - t0);
      this.#attemptFailures = { count: 0, error: undefined };
    } catch (error) {
      this.#observeServerTime(responseDate(error), sentAt);
      this.#telemetry.call(
        'acquire',
        isLeaseAlreadyPresent(error) ? 'held' : 'error',
        clock.monotonicNow() - t0,
      );
      if (isLeaseAlreadyPresent(error)) return undefined;
      if (storageStatusCode(error) === 404) this.#blobReady = false;
      this.#reportError('acquire', error);
      if (!stop.aborted) this.#attemptFailures = { count: this.#attemptFailures.count + 1, error };
      return undefined;
    }
    const leaseClient = this.#lease;
    // Whatever happens next, this id has been granted once: the next acquire proposes a new one.
    this.#freshLeaseId();
    const stepDownAt = t0 + leaseDurationMs - safetyMarginMs;
    const gridOrigin = this.#gridOriginAt(t0);
    const since = new Date(clock.wallNow()).toISOString();
    const written = await this.#writeEpoch(leaseClient, stepDownAt, stop, { gridOrigin, since });
    if (written.epoch === undefined) {
      if (written.leaseLost) return undefined;
      await this.#abandonAcquire(leaseClient, written.error, written.step);
      return undefined;
    }
    const epoch = written.epoch;
    this.#epochFailures = 0;
    if (stop.aborted || clock.monotonicNow() >= stepDownAt) {
      // Acquired while stopping, or too late to lead: hand it back rather than make followers wait out the lease.
      await this.#release(leaseClient, callTimeoutMs);
      return undefined;
    }
    const term: Term = {
      epoch,
      leaseClient,
      stepDownAt,
      confirmedAt: t0,
      jobs: new AbortController(),
      lease: new AbortController(),
      demoted: false,
      gridT0: t0,
      gridOrigin,
      gridWrittenAt: clock.monotonicNow(),
      releaseAt: undefined,
      since,
    };
    this.#term = term;
    if (gridOrigin !== undefined) this.#grid = { epoch, ...this.#gridFields(gridOrigin) };
    this.#lastEpoch = epoch;
    this.#telemetry.termStarted();
    this.emit('elected', { epoch });
    this.#leaderChanged(this.nodeId, epoch);
    void this.#announce({ type: 'elected', holder: this.nodeId, epoch });
    return term;
  }

  /**
   * The epoch could not be written after an acquire: nobody would lead while this node holds the
   * lease, so release it, say why (a 403 names the permission), and back off before the next try.
   */
  async #abandonAcquire(leaseClient: BlobLeaseClient, error: unknown, step = 'blob'): Promise<void> {
    this.#epochFailures++;
    const { container, cluster, callTimeoutMs } = this.options;
    const backoffMs = this.#epochBackoffMs();
    if (error !== undefined && isForbidden(error)) {
      const needed =
        step === 'floor'
          ? "table read on the cluster's bus table (e.g. the Storage Table Data Reader or Contributor role), to read the epochs its tick claims used"
          : `blob write on container "${container}" (e.g. the Storage Blob Data Contributor role), not only read and lease`;
      const denied = new GossiplessError(
        'STORAGE_FORBIDDEN',
        `lease acquired on ${container}/${cluster}/leader but its epoch could not be set (403): the identity needs ` +
          `${needed}; released the lease, next attempt in ${Math.round(backoffMs / 1000)} s`,
        { cause: error },
      );
      this.options.logger.error(denied.message);
      this.emit('error', { error: denied, during: 'epoch' });
    } else {
      this.options.logger.warn(
        `lease on ${container}/${cluster}/leader released: its epoch could not be written before the step-down deadline; next attempt in ${Math.round(backoffMs / 1000)} s`,
      );
    }
    await this.#release(leaseClient, callTimeoutMs);
  }

  /** Wait after the n-th consecutive failed epoch write: retryInterval·2^(n−1), jittered, at most a minute. */
  #epochBackoffMs(): number {
    const { retryIntervalMs, random } = this.options;
    const ceiling = Math.min(60_000, retryIntervalMs * 2 ** Math.min(this.#epochFailures - 1, 20));
    return ceiling * (0.5 + random() * 0.5);
  }

  /**
   * Epoch = max(stored epoch, floor of epochs already used, this node's last) + 1, written under the
   * lease: only the holder can write, so epochs are unique, and the floor keeps them increasing even
   * when the blob's metadata was lost (deleted and recreated blob, edited metadata, failover).
   */
  async #writeEpoch(
    leaseClient: BlobLeaseClient,
    stepDownAt: number,
    stop: AbortSignal,
    term: { gridOrigin: number | undefined; since: string },
  ): Promise<{ epoch?: number; leaseLost?: boolean; error?: unknown; step?: 'blob' | 'floor' }> {
    const { clock, callTimeoutMs, renewRetryDelayMs, epochFloor } = this.options;
    const conditions = { leaseId: leaseClient.leaseId };
    let lastError: unknown;
    // Which store refused, so a 403 names the right permission.
    let step: 'blob' | 'floor' = 'blob';
    for (let attempt = 0; !stop.aborted; attempt++) {
      const left = stepDownAt - clock.monotonicNow();
      if (left <= 0) return { error: lastError };
      try {
        const props = await this.#blob.getProperties({
          conditions,
          abortSignal: deadlineSignal(Math.min(callTimeoutMs, left), stop),
        });
        const stored = epochOfMetadata(props.metadata);
        step = 'floor';
        const used = epochFloor
          ? await epochFloor({
              abortSignal: deadlineSignal(Math.min(callTimeoutMs, stepDownAt - clock.monotonicNow()), stop),
            })
          : 0;
        const floor = Math.max(this.#epochFloor, this.#lastEpoch, used);
        const epoch = Math.max(stored, floor) + 1;
        if (stored < floor) {
          this.options.logger.warn(
            `lease blob ${this.options.container}/${this.options.cluster}/leader says epoch ${stored} but epoch ${floor} was already used ` +
              `(blob recreated, metadata edited or account failed over?): this term takes epoch ${epoch}`,
          );
          this.emit('epoch-floor', { stored, floor, epoch });
        }
        step = 'blob';
        await this.#blob.setMetadata(this.#termMetadata(epoch, term.since, term.gridOrigin), {
          conditions,
          abortSignal: deadlineSignal(Math.min(callTimeoutMs, stepDownAt - clock.monotonicNow()), stop),
        });
        return { epoch };
      } catch (error) {
        if (isLeaseLost(error)) return { leaseLost: true };
        lastError = error;
        this.#reportError('epoch', error);
        if (!isTransient(error)) return { error, step };
        const left = stepDownAt - clock.monotonicNow();
        await sleep(Math.min(backoffDelayMs(attempt, error, { baseMs: renewRetryDelayMs }), left / 2), stop);
      }
    }
    return { error: lastError };
  }

  /** The blob's metadata for a term: epoch, holder, since, and the renewal grid when known. */
  #termMetadata(epoch: number, since: string, gridOrigin: number | undefined): Record<string, string> {
    const metadata: Record<string, string> = { epoch: String(epoch), holder: this.nodeId, since };
    if (gridOrigin !== undefined) metadata[RENEW_GRID_KEY] = formatRenewGrid(this.#gridFields(gridOrigin));
    return metadata;
  }

  #gridFields(originMs: number): Omit<RenewGrid, 'epoch'> {
    const { renewIntervalMs, leaseDurationMs, expirySlackMs } = this.options;
    return { originMs, renewIntervalMs, leaseDurationMs, slackMs: expirySlackMs };
  }

  /**
   * An upper bound of the server's clock at monotonic time `t0` (undefined while the estimate has
   * no upper bound): the grid origin. An upper bound, so followers never look too early.
   */
  #gridOriginAt(t0: number): number | undefined {
    const { serverTime } = this.options;
    const bounds = serverTime.bounds();
    if (!bounds || !Number.isFinite(bounds.upper)) return undefined;
    return Math.ceil(bounds.upper - (serverTime.monotonicNow() - t0));
  }

  /**
   * Re-writes the grid when the server-time estimate has narrowed since it was written (the first
   * term of a node starts with an estimate good to about a second): followers then look closer to
   * the instants the lease can expire. At most every {@link GRID_REFINE_EVERY_MS}, a few writes
   * per term. A failure changes nothing (the written grid stays valid, only later than it could be).
   */
  async #refineGrid(term: Term, endSignal: AbortSignal): Promise<void> {
    const { clock, callTimeoutMs } = this.options;
    const written = term.gridOrigin;
    if (written === undefined || clock.monotonicNow() - term.gridWrittenAt < GRID_REFINE_EVERY_MS) return;
    const origin = this.#gridOriginAt(term.gridT0);
    if (origin === undefined || written - origin < GRID_REFINE_MIN_MS) return;
    term.gridWrittenAt = clock.monotonicNow();
    try {
      await this.#blob.setMetadata(this.#termMetadata(term.epoch, term.since, origin), {
        conditions: { leaseId: term.leaseClient.leaseId },
        abortSignal: deadlineSignal(callTimeoutMs, endSignal),
      });
      term.gridOrigin = origin;
    } catch (error) {
      this.options.logger.debug(`renewal grid of term ${term.epoch} not refined: ${redactUnknown(error)}`);
    }
  }

  /**
   * Records that epoch `usedEpoch` is already in use (a singleton claim was fenced by it). The next
   * term's epoch goes above it; if the current term's epoch is not above it, the term ends at once
   * (its jobs would be fenced forever) and the node campaigns again to take a higher epoch.
   */
  raiseEpochFloor(usedEpoch: number): void {
    if (!Number.isSafeInteger(usedEpoch) || usedEpoch <= this.#epochFloor) return;
    this.#epochFloor = usedEpoch;
    const term = this.#term;
    if (!term || term.demoted || term.epoch > usedEpoch || this.#stop.signal.aborted) return;
    this.options.logger.warn(
      `term ${term.epoch} is below epoch ${usedEpoch} already used by a singleton claim: stepping down to take epoch ${usedEpoch + 1}`,
    );
    const stillOurs = this.isLeader;
    this.#demote(term, 'fenced');
    if (stillOurs) void this.#release(term.leaseClient, this.options.callTimeoutMs);
  }

  async #lead(term: Term, stop: AbortSignal): Promise<void> {
    const { clock, renewIntervalMs, leaseDurationMs, safetyMarginMs, storage, callTimeoutMs } = this.options;
    // The step-down timer is the safety mechanism: it fires whatever the network is doing.
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () => this.#demote(term, 'renew-timeout'),
        Math.max(0, term.stepDownAt - clock.monotonicNow()),
      );
    };
    arm();
    const endSignal = AbortSignal.any([term.lease.signal, stop]);
    // Renewal k is due at gridT0 + k·renewInterval: a fixed grid, which followers know.
    let k = 1;
    try {
      while (!term.demoted && !stop.aborted) {
        await sleep(term.gridT0 + k * renewIntervalMs - clock.monotonicNow(), endSignal);
        if (term.demoted || stop.aborted) break;
        const handingOver = term.releaseAt !== undefined && term.stepDownAt > term.releaseAt + callTimeoutMs;
        if (!handingOver) {
          // Membership and bus calls on this connection wait while the renewal is due (step 4).
          const releasePriority = storage.leasePriority?.hold() ?? (() => undefined);
          try {
            await this.#renewUntilDone(term, stop, endSignal, (t0) => {
              term.stepDownAt = t0 + leaseDurationMs - safetyMarginMs;
              term.confirmedAt = t0;
              arm();
              this.emit('renewed', { epoch: term.epoch, stepDownAt: term.stepDownAt });
            });
          } finally {
            releasePriority();
          }
          if (!term.demoted && !stop.aborted && term.releaseAt === undefined)
            await this.#refineGrid(term, endSignal);
        }
        // The next grid instant still ahead: one a retried renewal ran past is skipped.
        k = Math.max(k + 1, Math.floor((clock.monotonicNow() - term.gridT0) / renewIntervalMs) + 1);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** One renewal, retried until it succeeds, the lease is lost, or the step-down deadline passes. */
  async #renewUntilDone(
    term: Term,
    stop: AbortSignal,
    endSignal: AbortSignal,
    renewed: (t0: number) => void,
  ): Promise<void> {
    const { clock, callTimeoutMs, renewRetryDelayMs, random } = this.options;
    for (let attempt = 0; !term.demoted && !stop.aborted; attempt++) {
      const left = term.stepDownAt - clock.monotonicNow();
      if (left <= 0) {
        this.#demote(term, 'renew-timeout');
        break;
      }
      const t0 = clock.monotonicNow();
      const sentAt = this.options.serverTime.monotonicNow();
      try {
        const response = await term.leaseClient.renewLease({
          abortSignal: deadlineSignal(Math.min(callTimeoutMs, left), endSignal),
        });
        this.#observeServerTime(response.date, sentAt);
        this.#telemetry.call('renew', 'ok', clock.monotonicNow() - t0);
        if (term.demoted) break;
        renewed(t0);
        break;
      } catch (error) {
        if (term.demoted || stop.aborted) break;
        const lost = isLeaseLost(error) || isNotFound(error);
        this.#telemetry.call('renew', lost ? 'lost' : 'error', clock.monotonicNow() - t0);
        // A 404: the blob is gone (deleted, or an account failover lost it), and its lease with it.
        if (lost) {
          this.#demote(term, 'lease-lost');
          break;
        }
        // Transient or unknown: the lease may still be ours; retry until the step-down time,
        // backing off (a throttled server's retry-after included) but always leaving room for
        // another attempt before the deadline: half the time left at most.
        this.#reportError('renew', error);
        const timeLeft = Math.max(0, term.stepDownAt - clock.monotonicNow());
        const backoff = backoffDelayMs(attempt, error, { baseMs: renewRetryDelayMs, minMs: 20, random });
        await sleep(Math.min(backoff, timeLeft / 2), endSignal);
      }
    }
  }

  #demote(term: Term, reason: DemotionReason): void {
    if (term.demoted) return;
    term.demoted = true;
    term.jobs.abort(new GossiplessError('STOPPED', `leadership of epoch ${term.epoch} ended: ${reason}`));
    term.lease.abort();
    this.#telemetry.demoted(reason);
    this.emit('demoted', { epoch: term.epoch, reason });
  }

  #onAnnouncement(announcement: LeaderAnnouncement): void {
    if (announcement.holder === this.nodeId) return;
    if (announcement.type === 'released') {
      this.#leaderChanged(undefined, announcement.epoch);
      // Campaign now instead of at the next retry.
      this.#nudge.abort();
    } else {
      this.#leaderChanged(announcement.holder, announcement.epoch);
    }
  }

  #leaderChanged(holder: string | undefined, epoch: number): void {
    const last = this.#lastKnownLeader;
    if (last && (epoch < last.epoch || (last.holder === holder && last.epoch === epoch))) return;
    this.#lastKnownLeader = { holder, epoch };
    this.emit('leader-changed', { holder, epoch });
  }

  async #announce(announcement: LeaderAnnouncement): Promise<void> {
    const announcer = this.options.announcer;
    if (!announcer) return;
    try {
      await announcer.announce(announcement);
    } catch (error) {
      this.#reportError('announce', error);
    }
  }

  /** Feeds a lease response's `Date` to the shared server-time estimate, if there is one. */
  #observeServerTime(date: Date | string | undefined, sentAt: number | undefined): void {
    if (date !== undefined) this.options.serverTime.observe(date, sentAt);
  }

  #reportError(during: LeaseElectorEvents['error']['during'], error: unknown): void {
    const wrapped = storageFailure(`lease ${during} on cluster ${this.options.cluster}`, error);
    this.options.logger.warn(wrapped.message);
    this.emit('error', { error: wrapped, during });
  }

  /**
   * Monotonic time taken before sending the last successful acquire or renew of the current term
   * (undefined when not leader). Status uses it to show the time since the last renewal.
   */
  get leaseConfirmedAt(): number | undefined {
    return this.isLeader ? this.#term?.confirmedAt : undefined;
  }

  /** Highest epoch this node has held (0 if none). */
  get lastEpoch(): number {
    return this.#lastEpoch;
  }

  /**
   * The term this node claims, while it claims one: not yet demoted, even if its step-down time
   * has passed (a blocked event loop delays the demotion timer). Health probes read it.
   */
  get claimedTerm(): { epoch: number; confirmedAt: number; stepDownAt: number } | undefined {
    const term = this.#term;
    return term && !term.demoted
      ? { epoch: term.epoch, confirmedAt: term.confirmedAt, stepDownAt: term.stepDownAt }
      : undefined;
  }

  /** What the metrics read at collection time (docs/operations.md lists them). */
  #telemetrySource(): LeaseTelemetrySource {
    const { clock, cluster, nodeId, leaseDurationMs, safetyMarginMs } = this.options;
    return {
      cluster,
      nodeId,
      stepDownAfterMs: leaseDurationMs - safetyMarginMs,
      isLeader: () => this.isLeader,
      knownLeaderEpoch: () => Math.max(this.#lastKnownLeader?.epoch ?? 0, this.#lastEpoch),
      renewalAgeMs: () => {
        const confirmedAt = this.leaseConfirmedAt;
        return confirmedAt === undefined ? undefined : clock.monotonicNow() - confirmedAt;
      },
    };
  }
}

/** The `Date` header of a failed storage call's response (a 409 for a held lease carries one too). */
function responseDate(error: unknown): string | undefined {
  const response = (error as { response?: { headers?: { get?(name: string): string | undefined } } })
    ?.response;
  const date = typeof response?.headers?.get === 'function' ? response.headers.get('date') : undefined;
  return typeof date === 'string' ? date : undefined;
}
