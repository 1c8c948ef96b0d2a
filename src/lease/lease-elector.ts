import { randomUUID } from 'node:crypto';
import type { BlobLeaseClient, BlockBlobClient } from '@azure/storage-blob';
import { sleep } from '../clock/index.js';
import { TypedEmitter } from '../events/index.js';
import { redactUnknown } from '../redact/index.js';
import {
  deadlineSignal,
  isLeaseAlreadyPresent,
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
  | 'resigned';

/** Events of {@link LeaseElector}. Names and payloads are part of the public API. */
export interface LeaseElectorEvents {
  /** This node became leader for term `epoch`. */
  elected: { epoch: number };
  /** This node stopped being leader of term `epoch`. */
  demoted: { epoch: number; reason: DemotionReason };
  /** The cluster's leader changed, as far as this node can tell; `holder` undefined means released. */
  'leader-changed': { holder: string | undefined; epoch: number };
  /** A storage call failed; the elector keeps going. */
  error: { error: GossiplessError; during: 'setup' | 'acquire' | 'epoch' | 'renew' | 'release' | 'announce' };
}

interface Term {
  readonly epoch: number;
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
 * Leader election by blob lease, with a fencing epoch per term. See docs/leader-election.md for the
 * algorithm and its safety argument.
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
  readonly #lease: BlobLeaseClient;
  readonly #proposedLeaseId = randomUUID();
  #term: Term | undefined;
  #lastEpoch = 0;
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
    this.#lease = this.#blob.getBlobLeaseClient(this.#proposedLeaseId);
    this.#telemetry = leaseTelemetry(this.#telemetrySource());
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
      const stillOurs = this.isLeader;
      this.#demote(term, 'stopped');
      if (stillOurs) {
        await this.#release(callTimeoutMs);
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
      const stillOurs = this.isLeader;
      this.#demote(term, 'resigned');
      if (!stillOurs) return;
      await this.#release(callTimeoutMs);
      await this.#announce({ type: 'released', holder: this.nodeId, epoch: term.epoch });
    })();
    return this.#resigning;
  }

  /**
   * Releases the lease, retrying transient failures within one call deadline. Repeating is safe: a
   * release carries our lease id, so it can never end a lease someone else has acquired since.
   */
  async #release(callTimeoutMs: number): Promise<void> {
    const startedAt = this.options.clock.monotonicNow();
    try {
      await retryTransient(
        (abortSignal) => this.#lease.releaseLease({ abortSignal }),
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
    const stepDownAt = t0 + leaseDurationMs - safetyMarginMs;
    const epoch = await this.#writeEpoch(stepDownAt, stop);
    if (epoch === undefined) return undefined;
    if (stop.aborted) {
      // Acquired while stopping: hand it back rather than make followers wait out the lease.
      await this.#lease.releaseLease({ abortSignal: deadlineSignal(callTimeoutMs) }).catch(() => undefined);
      return undefined;
    }
    if (clock.monotonicNow() >= stepDownAt) return undefined;
    const term: Term = {
      epoch,
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

  /** Epoch = previous + 1, written under the lease: only the holder can write, so epochs are unique. */
  async #writeEpoch(stepDownAt: number, stop: AbortSignal): Promise<number | undefined> {
    const { clock, callTimeoutMs, renewRetryDelayMs, nodeId } = this.options;
    const conditions = { leaseId: this.#proposedLeaseId };
    while (!stop.aborted) {
      const left = stepDownAt - clock.monotonicNow();
      if (left <= 0) return undefined;
      try {
        const props = await this.#blob.getProperties({
          conditions,
          abortSignal: deadlineSignal(Math.min(callTimeoutMs, left), stop),
        });
        const previous = Number(props.metadata?.['epoch'] ?? '0');
        const epoch = (Number.isSafeInteger(previous) && previous > 0 ? previous : 0) + 1;
        await this.#blob.setMetadata(
          { epoch: String(epoch), holder: nodeId, since: new Date(clock.wallNow()).toISOString() },
          {
            conditions,
            abortSignal: deadlineSignal(Math.min(callTimeoutMs, stepDownAt - clock.monotonicNow()), stop),
          },
        );
        return epoch;
      } catch (error) {
        if (isLeaseLost(error)) return undefined;
        this.#reportError('epoch', error);
        if (!isTransient(error)) return undefined;
        await sleep(renewRetryDelayMs, stop);
      }
    }
    return undefined;
  }

  async #lead(term: Term, stop: AbortSignal): Promise<void> {
    const { clock, renewIntervalMs, leaseDurationMs, safetyMarginMs, callTimeoutMs, renewRetryDelayMs } =
      this.options;
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
        while (!term.demoted && !stop.aborted) {
          const left = term.stepDownAt - clock.monotonicNow();
          if (left <= 0) {
            this.#demote(term, 'renew-timeout');
            break;
          }
          const t0 = clock.monotonicNow();
          const sentAt = this.options.serverTime?.monotonicNow();
          try {
            const response = await this.#lease.renewLease({
              abortSignal: deadlineSignal(Math.min(callTimeoutMs, left), endSignal),
            });
            this.#observeServerTime(response.date, sentAt);
            this.#telemetry.call('renew', 'ok', clock.monotonicNow() - t0);
            if (term.demoted) break;
            term.stepDownAt = t0 + leaseDurationMs - safetyMarginMs;
            term.confirmedAt = t0;
            lastRenewStart = t0;
            arm();
            break;
          } catch (error) {
            if (term.demoted || stop.aborted) break;
            this.#telemetry.call('renew', isLeaseLost(error) ? 'lost' : 'error', clock.monotonicNow() - t0);
            if (isLeaseLost(error)) {
              this.#demote(term, 'lease-lost');
              break;
            }
            // Transient or unknown: the lease may still be ours; retry until the step-down time.
            this.#reportError('renew', error);
            await sleep(
              Math.min(renewRetryDelayMs, Math.max(0, term.stepDownAt - clock.monotonicNow())),
              endSignal,
            );
          }
        }
      }
    } finally {
      clearTimeout(timer);
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
