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
 * 4. Renew every renewInterval, ahead of membership and bus traffic, retrying throttled and failed
 *    renewals with backoff that honours retry-after but never past the step-down (`#lead`).
 * 5. Step down at once on a lease-lost answer, the deadline, or a fenced claim (`#demote`,
 *    `raiseEpochFloor`).
 * 6. On stop/resign: abort leader work, wait for it within the lease, release with the term's own
 *    lease id, announce (`stop`, `resign`, `#release`).
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

/** Retry period right after a leader's lease can have expired. */
const EXPIRY_RETRY_MS = 250;
/** Slack added to the expected expiry: the server's clock is known to about a second. */
const EXPIRY_SLACK_MS = 100;
import { readLeaderInfo, type LeaderInfo } from './read-leader.js';

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
   * Steps down gracefully: aborts leader work, waits for it (bounded by the lease time left),
   * releases the lease and announces the release. Idempotent; resolves when all has settled.
   */
  stop(): Promise<void> {
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
        // Re-acquiring at once would win again before any follower heard the release.
        await this.#resigning;
        this.#resigning = undefined;
        await sleep(this.options.retryIntervalMs, stop);
      }
    }
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
   * The regular jittered retry, shortened around the moment the leader's lease can first expire
   * (see {@link noteLeaderRenewal}): try right then, and every `EXPIRY_RETRY_MS` for a renew
   * interval after it, so a crashed leader is replaced within about L of its last renewal rather
   * than L + retryInterval. Outside that window no extra requests are made.
   */
  #nextAttemptDelay(): number {
    const { retryIntervalMs, random, renewIntervalMs, clock } = this.options;
    const regular = retryIntervalMs * (0.75 + random() * 0.5);
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
      else this.#reportError('setup', error);
    }
    return this.#blobReady;
  }

  async #tryAcquire(stop: AbortSignal): Promise<Term | undefined> {
    if (!(await this.#ensureBlob(stop))) return undefined;
    const { clock, leaseDurationMs, safetyMarginMs, callTimeoutMs } = this.options;
    const t0 = clock.monotonicNow();
    const sentAt = this.options.serverTime?.monotonicNow();
    try {
      const response = await this.#lease.acquireLease(leaseDurationMs / 1000, {
        abortSignal: deadlineSignal(callTimeoutMs, stop),
      });
      this.#observeServerTime(response.date, sentAt);
      this.#telemetry.call('acquire', 'ok', clock.monotonicNow() - t0);
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
      return undefined;
    }
    const leaseClient = this.#lease;
    // Whatever happens next, this id has been granted once: the next acquire proposes a new one.
    this.#freshLeaseId();
    const stepDownAt = t0 + leaseDurationMs - safetyMarginMs;
    const written = await this.#writeEpoch(leaseClient, stepDownAt, stop);
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
    };
    this.#term = term;
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
  ): Promise<{ epoch?: number; leaseLost?: boolean; error?: unknown; step?: 'blob' | 'floor' }> {
    const { clock, callTimeoutMs, renewRetryDelayMs, nodeId, epochFloor } = this.options;
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
        const storedRaw = Number(props.metadata?.['epoch'] ?? '0');
        const stored = Number.isSafeInteger(storedRaw) && storedRaw > 0 ? storedRaw : 0;
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
        await this.#blob.setMetadata(
          { epoch: String(epoch), holder: nodeId, since: new Date(clock.wallNow()).toISOString() },
          {
            conditions,
            abortSignal: deadlineSignal(Math.min(callTimeoutMs, stepDownAt - clock.monotonicNow()), stop),
          },
        );
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
    const { clock, renewIntervalMs, leaseDurationMs, safetyMarginMs, storage } = this.options;
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
    let lastRenewStart = clock.monotonicNow();
    try {
      while (!term.demoted && !stop.aborted) {
        await sleep(lastRenewStart + renewIntervalMs - clock.monotonicNow(), endSignal);
        // Membership and bus calls on this connection wait while the renewal is due (step 4).
        const releasePriority = storage.leasePriority?.hold() ?? (() => undefined);
        try {
          await this.#renewUntilDone(term, stop, endSignal, (t0) => {
            term.stepDownAt = t0 + leaseDurationMs - safetyMarginMs;
            term.confirmedAt = t0;
            lastRenewStart = t0;
            arm();
            this.emit('renewed', { epoch: term.epoch, stepDownAt: term.stepDownAt });
          });
        } finally {
          releasePriority();
        }
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
      const sentAt = this.options.serverTime?.monotonicNow();
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
    if (date !== undefined) this.options.serverTime?.observe(date, sentAt);
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
