import { ServerTimeEstimate, sleep, systemClock, type Clock } from '../clock/index.js';
import { TableBus, type BusHandler, type SubscribeOptions, type TableBusOptions } from '../bus/index.js';
import { GossiplessError } from '../errors/index.js';
import { TypedEmitter } from '../events/index.js';
import {
  LeaseElector,
  type DemotionReason,
  type LeaderInfo,
  type LeaseElectorOptions,
  type LeaseStopOptions,
} from '../lease/index.js';
import { redactingLogger, type Logger } from '../log/index.js';
import { Membership, type Member, type MembershipOptions } from '../membership/index.js';
import { defaultNodeId } from '../node-id/index.js';
import { redactUnknown } from '../redact/index.js';
import {
  connectStorage,
  type StorageConnection,
  type StorageTarget,
  storageFailure,
  type TransactionCounts,
} from '../storage/index.js';
import {
  observeStorageTransactions,
  singletonTelemetry,
  type SingletonTelemetry,
} from '../telemetry/index.js';
import { busLeaderAnnouncer } from './bus-announcer.js';
import { judgeClusterHealth, type ClusterHealth } from './cluster-health.js';
import { claimTick, highestClaimedEpoch, type WrittenClaim } from './singleton-claim.js';

/** Options of {@link createCluster}. */
export interface ClusterOptions {
  /** Cluster name: lowercase letters, digits and `-`. */
  cluster: string;
  /** A connection, or where to connect. @default connectStorage() (AZURE_STORAGE_CONNECTION_STRING) */
  storage?: StorageConnection | StorageTarget;
  /** @default host-pid-random */
  nodeId?: string;
  /** Advertised in this node's member row. @default {} */
  metadata?: Record<string, unknown>;
  /** Table `<tablePrefix>bus`. @default 'gossipless' */
  tablePrefix?: string;
  /** Container of the lease blob. @default 'gossipless' */
  container?: string;
  /** Whether this node may lead. @default true */
  campaign?: boolean;
  /** Lease timings (see {@link LeaseElectorOptions}). */
  lease?: Pick<
    LeaseElectorOptions,
    | 'leaseDurationMs'
    | 'renewIntervalMs'
    | 'retryIntervalMs'
    | 'safetyMarginMs'
    | 'callTimeoutMs'
    | 'renewRetryDelayMs'
    | 'initialDelayMs'
    | 'expirySlackMs'
  >;
  /** Membership timings (see {@link MembershipOptions}). */
  membership?: Pick<
    MembershipOptions,
    'heartbeatIntervalMs' | 'memberTtlMs' | 'suspectAfterMs' | 'gcAfterMs' | 'callTimeoutMs'
  >;
  /** Bus settings (see {@link TableBusOptions}). */
  bus?: Pick<
    TableBusOptions,
    | 'pollIntervalMs'
    | 'idlePollIntervalMs'
    | 'quietAfterMs'
    | 'lookbackMs'
    | 'retentionMs'
    | 'consumerName'
    | 'callTimeoutMs'
    | 'redelivery'
    | 'deadLetterRetentionMs'
  >;
  /** @default systemClock */
  clock?: Clock;
  /**
   * An estimate of the storage server's clock to share, for a node that replaces another one of the
   * same process on the same account (it starts narrow instead of ±1 s). Must run on `clock`.
   * @default a new estimate
   */
  serverTime?: ServerTimeEstimate;
  /** @default silent */
  logger?: Logger;
}

/** What a singleton job is given on each run. */
export interface SingletonContext {
  /**
   * Aborts when leadership is lost or the node stops: stop work and do not commit. It aborts from a
   * timer, so a job that has just blocked the event loop past the deadline still sees it unaborted
   * until that timer runs: check {@link SingletonContext.isLeader} right before a commit.
   */
  signal: AbortSignal;
  /**
   * True while this node still leads this run's term, read from the monotonic clock against the
   * term's step-down deadline at the moment of the call (never stale after a blocked turn).
   */
  isLeader(): boolean;
  /** Throws a `GossiplessError` (`STOPPED`) unless {@link SingletonContext.isLeader}: call it before each commit. */
  throwIfNotLeader(): void;
  /** The leader's epoch: a fencing token to stamp on every write the job makes. */
  epoch: number;
  /** The tick being run: floor(serverTime / everyMs). Each tick runs at most once across the cluster. */
  tick: number;
  /** The job's name. */
  name: string;
}

/** A singleton job: runs only on the leader, once per tick. */
export type SingletonJob = (context: SingletonContext) => Promise<void> | void;

/** Options of {@link Cluster.singleton}. */
export interface SingletonOptions {
  /** Run once per this period, aligned to the server clock. */
  everyMs: number;
}

/** Events of {@link Cluster}. Names and payloads are part of the public API. */
export interface ClusterEvents {
  elected: { epoch: number };
  demoted: { epoch: number; reason: DemotionReason };
  'leader-changed': { holder: string | undefined; epoch: number };
  join: Member;
  leave: Member;
  update: Member;
  /** A singleton run began on this node. */
  'job-start': { name: string; tick: number; epoch: number };
  /** A singleton run ended: `aborted` when leadership ended during it. */
  'job-end': {
    name: string;
    tick: number;
    epoch: number;
    outcome: 'ok' | 'aborted' | 'failed';
    error?: GossiplessError;
  };
  /**
   * A tick claim was refused because the claim row holds a higher epoch than this term's: the lease
   * blob's epoch went backwards (blob deleted and recreated, metadata edited, account failover).
   * The node steps down and campaigns again for an epoch above `claimEpoch`.
   */
  fenced: { name: string; tick: number; epoch: number; claimEpoch: number };
  /** The lease blob's epoch was below the highest epoch already used; this term starts above it. */
  'epoch-floor': { stored: number; floor: number; epoch: number };
  /** A part failed; the cluster keeps going. `source` names the part. */
  error: { error: GossiplessError; source: 'lease' | 'membership' | 'bus' | 'singleton' };
}

/**
 * One node of a cluster: blob-lease leadership, table membership and the table bus together,
 * plus singleton jobs that run only on the leader.
 *
 * @example
 * ```ts
 * const cluster = createCluster({ cluster: 'orders' });
 * cluster.singleton('retention-sweep', { everyMs: 60_000 }, async ({ signal, epoch }) => {
 *   await sweepOldRows({ signal, fencingToken: epoch });
 * });
 * await cluster.start();
 * handleShutdownSignals(cluster);
 * ```
 */
export class Cluster extends TypedEmitter<ClusterEvents> {
  readonly nodeId: string;
  readonly name: string;
  readonly storage: StorageConnection;
  readonly elector: LeaseElector;
  readonly membership: Membership;
  readonly bus: TableBus;
  readonly #serverTime: ServerTimeEstimate;
  readonly #logger: Logger;
  readonly #singletons = new Map<
    string,
    // lastClaim: the claim row as this node last wrote it, so the next claim is one conditional write.
    { everyMs: number; job: SingletonJob; lastTick: number; lastClaim?: WrittenClaim }
  >();
  readonly #stop = new AbortController();
  /** Aborted by stop() once the elector has stopped: loops stop waiting for jobs that ignore their signal. */
  readonly #abandonJobs = new AbortController();
  #started = false;
  #stopping: Promise<void> | undefined;
  readonly #loops = new Set<Promise<void>>();
  readonly #callTimeoutMs: number;
  readonly #clock: Clock;
  readonly #telemetry: SingletonTelemetry;
  readonly #closeTransactionTelemetry: () => void;

  constructor(options: ClusterOptions) {
    super((error, event) => this.#logger.error(`a '${event}' listener threw: ${redactUnknown(error)}`));
    this.#logger = redactingLogger(options.logger);
    const storage = isConnection(options.storage) ? options.storage : connectStorage(options.storage);
    const clock = options.clock ?? systemClock;
    this.storage = storage;
    this.name = options.cluster;
    this.nodeId = options.nodeId ?? defaultNodeId();
    this.#serverTime = options.serverTime ?? new ServerTimeEstimate(clock);
    this.#callTimeoutMs = options.lease?.callTimeoutMs ?? 3000;
    this.#clock = clock;
    this.#telemetry = singletonTelemetry({ cluster: this.name, nodeId: this.nodeId });
    this.#closeTransactionTelemetry = storage.transactions
      ? observeStorageTransactions(storage.transactions, { cluster: this.name, nodeId: this.nodeId })
      : () => undefined;
    const common = { storage, cluster: options.cluster, nodeId: this.nodeId, clock, logger: options.logger };
    this.bus = new TableBus({
      ...common,
      ...options.bus,
      tablePrefix: options.tablePrefix,
      serverTime: this.#serverTime,
      epoch: () => this.elector.epoch,
      isLeader: () => this.elector.isLeader,
    });
    this.elector = new LeaseElector({
      ...common,
      ...options.lease,
      container: options.container,
      campaign: options.campaign,
      announcer: busLeaderAnnouncer(this.bus),
      serverTime: this.#serverTime,
      // Tick claims keep the epochs they ran under: the floor of the next term's epoch.
      epochFloor: ({ abortSignal }) =>
        highestClaimedEpoch(storage.tableClient(this.bus.tableName), options.cluster, { abortSignal }),
    });
    this.membership = new Membership({
      ...common,
      ...options.membership,
      tablePrefix: options.tablePrefix,
      metadata: options.metadata,
      serverTime: this.#serverTime,
      isLeader: () => this.elector.isLeader,
      rowExtras: () => ({ ...this.#leaderRowExtras(clock), ...this.#transactionRowExtras() }),
    });
    this.elector.on('elected', (e) => {
      this.emit('elected', e);
      for (const name of this.#singletons.keys()) this.#startSingletonTerm(name, e.epoch);
    });
    this.elector.on('demoted', (e) => this.emit('demoted', e));
    this.elector.on('leader-changed', (e) => this.emit('leader-changed', e));
    this.elector.on('error', (e) => this.emit('error', { error: e.error, source: 'lease' }));
    this.elector.on('epoch-floor', (e) => this.emit('epoch-floor', e));
    this.membership.on('view', ({ members, serverNow }) => {
      // The leader's row says when it last renewed: followers time their next acquire for the
      // moment its lease can first expire (crash failover ≈ L, not L + retry).
      let latest: { epoch: number; leaseRenewedAt: number } | undefined;
      for (const m of members) if (m.leader && (!latest || m.leader.epoch > latest.epoch)) latest = m.leader;
      if (latest && latest.epoch >= this.elector.lastEpoch) {
        this.elector.noteLeaderRenewal(latest.leaseRenewedAt, serverNow);
      }
    });
    this.membership.on('join', (m) => this.emit('join', m));
    this.membership.on('leave', (m) => this.emit('leave', m));
    this.membership.on('update', (m) => this.emit('update', m));
    this.membership.on('error', (e) => this.emit('error', { error: e.error, source: 'membership' }));
    this.bus.on('error', (e) => this.emit('error', { error: e.error, source: 'bus' }));
  }

  /**
   * This node's estimate of the storage server's clock, shared by the bus, membership and the
   * lease calls. Shims that make their own storage calls feed it too (see ServerTimeEstimate).
   */
  get serverTime(): ServerTimeEstimate {
    return this.#serverTime;
  }

  /** True while this node leads (checked against the monotonic clock). */
  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  /** The current term's epoch while leader. */
  get epoch(): number | undefined {
    return this.elector.epoch;
  }

  /** Live members at the last heartbeat. */
  members(): Member[] {
    return this.membership.members();
  }

  /** Who leads, read from the lease blob. */
  leader(options: { abortSignal?: AbortSignal } = {}): Promise<LeaderInfo> {
    return this.elector.leader(options);
  }

  /** Publishes on the bus (stamped with the epoch while leader). */
  publish(channel: string, payload: unknown, options: { abortSignal?: AbortSignal } = {}): Promise<string> {
    return this.bus.publish(channel, payload, options);
  }

  /** Subscribes to a bus channel; returns the unsubscribe function. */
  subscribe<T = unknown>(channel: string, handler: BusHandler<T>, options?: SubscribeOptions): () => void {
    return this.bus.subscribe(channel, handler, options);
  }

  /**
   * Registers a job that runs only on the leader, once per `everyMs` tick of the server clock,
   * never twice for one tick across leaders. Its signal aborts the moment leadership ends.
   */
  singleton(name: string, options: SingletonOptions, job: SingletonJob): void {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) {
      throw new GossiplessError(
        'INVALID_INPUT',
        `singleton name "${name}" must be 1–100 letters, digits, '.', '_' or '-'`,
      );
    }
    if (!Number.isInteger(options?.everyMs) || options.everyMs < 100) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `singleton "${name}": everyMs must be an integer ≥ 100, got ${String(options?.everyMs)}`,
      );
    }
    if (this.#singletons.has(name))
      throw new GossiplessError('INVALID_INPUT', `singleton "${name}" is already registered`);
    this.#singletons.set(name, { everyMs: options.everyMs, job, lastTick: -1 });
    const epoch = this.elector.epoch;
    if (this.#started && epoch !== undefined) this.#startSingletonTerm(name, epoch);
  }

  /** Starts membership, the bus and the election. Idempotent; storage outages are retried, not thrown. */
  async start(): Promise<void> {
    if (this.#stop.signal.aborted)
      throw new GossiplessError('STOPPED', 'this cluster node was stopped; create a new one');
    if (this.#started) return;
    this.#started = true;
    await Promise.all([this.bus.start(), this.membership.start(), this.elector.start()]);
  }

  /**
   * Leaves gracefully: aborts leader jobs and waits for them, keeps the lease until just before the
   * followers' next look at it and then releases it and announces it (so the next leader is
   * elected within a fraction of a second: up to one renew interval + slack, 7.8 s at the
   * defaults, is added to stop(), well inside a SIGTERM grace period), deletes the member row,
   * stops the bus. `{ immediate: true }` (or an aborted `signal`) releases at once instead.
   * Idempotent; resolves when all has settled.
   *
   * A job that ignores its signal is waited for only until the current term's step-down deadline
   * (t0 + L − safetyMargin). After that the node is no longer leader (`ctx.isLeader()` is false, its
   * epoch is fenced by the next term's claims), the lease is NOT released (it expires at the server,
   * so no new leader starts while the old job may still write: followers take over after L), a
   * warning is logged, and stop() resolves without waiting for the job, which JavaScript cannot kill.
   */
  stop(options: LeaseStopOptions = {}): Promise<void> {
    // A later immediate stop cuts a waiting handover short.
    if (this.#stopping) void this.elector.stop(options);
    this.#stopping ??= (async () => {
      this.#stop.abort();
      // With no other live member there is nobody to hand over to: release at once.
      const alone = !this.membership.members().some((m) => m.nodeId !== this.nodeId);
      // Waits for leader jobs while the lease lasts, releases it only if they settled in time.
      await this.elector.stop(alone ? { ...options, immediate: true } : options);
      // A job still running now ignored its signal: it is abandoned, not awaited (see SingletonContext).
      this.#abandonJobs.abort();
      await Promise.allSettled([...this.#loops]);
      await this.membership.stop();
      await this.bus.stop();
      this.#closeTransactionTelemetry();
    })();
    return this.#stopping;
  }

  /**
   * Storage transactions this node's connection has sent, by kind, with per-hour rates since the
   * connection was made: what the cost model (`estimateCost`, `gossipless status --cost`) predicts.
   * Counted at the HTTP pipeline, so everything sent through `storage` counts, including calls a
   * shim or the application makes on the same connection. Undefined for a hand-made connection
   * without a counter.
   *
   * @example
   * ```ts
   * const { byKind, total } = cluster.transactions()!;
   * console.log(total.perHour, byKind['bus-poll'].perHour, byKind.lease.throttled);
   * ```
   */
  transactions(): TransactionCounts | undefined {
    return this.storage.transactions?.counts();
  }

  /** The member row carries this node's counted rate, so `gossipless status --cost` can show it. */
  #transactionRowExtras(): Record<string, number> {
    const counts = this.storage.transactions?.counts();
    return counts ? { [TRANSACTIONS_PER_HOUR_PROPERTY]: counts.total.perHour } : {};
  }

  /** While leader, the member row carries the epoch and the last renewal by the server clock. */
  #leaderRowExtras(clock: Clock): Record<string, number> {
    const epoch = this.elector.epoch;
    const confirmedAt = this.elector.leaseConfirmedAt;
    if (epoch === undefined || confirmedAt === undefined) return {};
    return {
      leaderEpoch: epoch,
      leaseRenewedAt: Math.round(this.#serverTime.nowOrLocal() - (clock.monotonicNow() - confirmedAt)),
    };
  }

  #startSingletonTerm(name: string, epoch: number): void {
    const loop = this.#runSingleton(name, epoch).catch((error: unknown) => {
      this.#logger.error(`singleton ${name} loop failed: ${redactUnknown(error)}`);
    });
    this.#loops.add(loop);
    void loop.finally(() => this.#loops.delete(loop));
  }

  async #runSingleton(name: string, epoch: number): Promise<void> {
    const entry = this.#singletons.get(name);
    if (!entry) return;
    const signal = this.elector.leaderSignal;
    const table = this.storage.tableClient(this.bus.tableName);
    while (!signal.aborted && this.elector.epoch === epoch) {
      const now = this.#serverTime.nowOrLocal();
      const tick = Math.floor(now / entry.everyMs);
      if (tick > entry.lastTick) {
        let outcome;
        try {
          outcome = await claimTick(
            table,
            { cluster: this.name, name, nodeId: this.nodeId },
            tick,
            epoch,
            this.#callTimeoutMs,
            signal,
            entry.lastClaim,
          );
        } catch (error) {
          if (signal.aborted) break;
          this.emit('error', {
            error: this.#wrap(`claiming tick ${tick} of ${name}`, error),
            source: 'singleton',
          });
          await sleep(500, signal);
          continue;
        }
        entry.lastTick = tick;
        entry.lastClaim = outcome.written;
        if (outcome.outcome === 'fenced') {
          this.#telemetry.fenced(name);
          const claimEpoch = outcome.claimEpoch ?? epoch + 1;
          // Never silent: a fenced leader runs nothing until its epoch is above the claim's.
          this.#logger.error(
            `singleton ${name} tick ${tick} fenced: epoch ${epoch} is below epoch ${claimEpoch} already used by a claim ` +
              `(lease blob recreated, metadata edited or account failed over?); stepping down to take a higher epoch`,
          );
          this.emit('fenced', { name, tick, epoch, claimEpoch });
          this.elector.raiseEpochFloor(claimEpoch);
          break;
        }
        if (outcome.outcome === 'claimed' && !signal.aborted && this.elector.isLeaderOf(epoch)) {
          await this.#runOnce(name, entry.job, this.#context(name, epoch, tick, signal));
        }
      }
      const nextTickAt = (Math.floor(this.#serverTime.nowOrLocal() / entry.everyMs) + 1) * entry.everyMs;
      await sleep(nextTickAt - this.#serverTime.nowOrLocal(), signal);
    }
  }

  #context(name: string, epoch: number, tick: number, signal: AbortSignal): SingletonContext {
    const isLeader = (): boolean => this.elector.isLeaderOf(epoch);
    return {
      signal,
      epoch,
      tick,
      name,
      isLeader,
      throwIfNotLeader: () => {
        if (!isLeader()) {
          throw new GossiplessError(
            'STOPPED',
            `singleton ${name} (tick ${tick}): no longer leader of epoch ${epoch}; do not commit`,
          );
        }
      },
    };
  }

  async #runOnce(name: string, job: SingletonJob, context: SingletonContext): Promise<void> {
    const { tick, epoch, signal } = context;
    this.emit('job-start', { name, tick, epoch });
    const run = this.#telemetry.run(context, () => job(context));
    this.elector.trackLeaderWork(run);
    const ended = run.then(
      () => this.emit('job-end', { name, tick, epoch, outcome: signal.aborted ? 'aborted' : 'ok' }),
      (error: unknown) => {
        const wrapped = this.#wrap(`singleton ${name} (tick ${tick}, epoch ${epoch})`, error, 'INTERNAL');
        this.emit('job-end', {
          name,
          tick,
          epoch,
          outcome: signal.aborted ? 'aborted' : 'failed',
          error: wrapped,
        });
      },
    );
    // stop() waits for a job only while the lease it runs under lasts (see stop()).
    const abandoned = this.#abandonJobs.signal;
    let onAbandon = (): void => undefined;
    const abandon = new Promise<void>((resolve) => (onAbandon = () => resolve()));
    abandoned.addEventListener('abort', onAbandon);
    if (abandoned.aborted) onAbandon();
    await Promise.race([ended, abandon]);
    abandoned.removeEventListener('abort', onAbandon);
    if (abandoned.aborted) {
      let settled = false;
      await Promise.race([ended.then(() => (settled = true)), Promise.resolve()]);
      if (!settled) {
        this.#logger.warn(
          `singleton ${name} (tick ${tick}, epoch ${epoch}) ignored its abort signal past the lease: stop() no longer waits for it`,
        );
      }
    }
  }

  /**
   * Readiness and liveness for a Kubernetes probe: ready once started and joined (its member row
   * is in the table); not live when it still claims leadership past the step-down deadline.
   *
   * @example
   * ```ts
   * createServer((req, res) => {
   *   const health = cluster.health();
   *   const ok = req.url === '/livez' ? health.live : health.ready;
   *   res.writeHead(ok ? 200 : 503).end(`${health.reason}\n`);
   * }).listen(8081);
   * ```
   */
  health(options: { livenessGraceMs?: number } = {}): ClusterHealth {
    return judgeClusterHealth({
      started: this.#started,
      stopping: this.#stopping !== undefined,
      joined: this.membership.members().some((member) => member.nodeId === this.nodeId),
      isLeader: this.elector.isLeader,
      claimedTerm: this.elector.claimedTerm,
      now: this.#clock.monotonicNow(),
      livenessGraceMs: options.livenessGraceMs ?? 1000,
    });
  }

  #wrap(what: string, error: unknown, code?: 'INTERNAL'): GossiplessError {
    if (code === undefined || error instanceof GossiplessError) return storageFailure(what, error);
    return new GossiplessError(code, `${what} failed: ${redactUnknown(error)}`, { cause: error });
  }
}

/** Member-row property with the node's counted storage transactions per hour (see {@link Cluster.transactions}). */
export const TRANSACTIONS_PER_HOUR_PROPERTY = 'transactionsPerHour';

function isConnection(value: StorageConnection | StorageTarget | undefined): value is StorageConnection {
  return typeof value === 'object' && value !== null && 'blobService' in value && 'tableClient' in value;
}

/**
 * Creates a cluster node. Nothing touches storage until `start()`.
 *
 * @example
 * ```ts
 * const cluster = createCluster({ cluster: 'orders', metadata: { address: process.env.POD_IP } });
 * await cluster.start();
 * ```
 */
export function createCluster(options: ClusterOptions): Cluster {
  return new Cluster(options);
}
