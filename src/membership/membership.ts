import type { TableClient, TransactionAction } from '@azure/data-tables';
import {
  ServerTimeEstimate,
  serverTimeFromDateHeader,
  sleep,
  systemClock,
  type Clock,
} from '../clock/index.js';
import {
  MEMBER_DIGEST_ROW_KEY,
  busTableName,
  memberDigestPartition,
  memberPartition,
  partitionEquals,
} from '../table-layout/index.js';
import { GossiplessError } from '../errors/index.js';
import { TypedEmitter } from '../events/index.js';
import { redactingLogger, type Logger } from '../log/index.js';
import { resolveNodeIdentity } from '../node-id/index.js';
import { redactUnknown } from '../redact/index.js';
import {
  deadlineSignal,
  isAlreadyExists,
  isNotFound,
  isPreconditionFailed,
  retryTransient,
  type StorageConnection,
  storageFailure,
} from '../storage/index.js';
import { membershipTelemetry } from '../telemetry/index.js';
import { parseMemberRow, type Member, type MembershipView } from './member.js';
import { decodeDigest, encodeDigest, type MemberDigest } from './member-digest.js';

/** Options of {@link Membership}. */
export interface MembershipOptions {
  storage: StorageConnection;
  cluster: string;
  /** @default host-pid-random */
  nodeId?: string;
  /** The table is `<tablePrefix>bus`. @default 'gossipless' */
  tablePrefix?: string;
  /** Advertised with the row (JSON, at most 32 KiB serialised). @default {} */
  metadata?: Record<string, unknown>;
  /** How often this node upserts its row and reads the membership (the digest, or the partition). @default 15000 */
  heartbeatIntervalMs?: number;
  /** A row is alive while serverNow − row.Timestamp < memberTtlMs. @default 45000 */
  memberTtlMs?: number;
  /**
   * Whether followers read the member digest (one entity, written by the leader each heartbeat)
   * instead of the whole member partition. `false` makes every node read the partition every
   * heartbeat: N² / heartbeat entities a second, over Azure's 2,000 per partition near 170 nodes at
   * the defaults. @default true
   */
  useDigest?: boolean;
  /** A member is `suspect` once its heartbeat is this late. @default 2 × heartbeatIntervalMs */
  suspectAfterMs?: number;
  /** The leader deletes rows dead for this long (rows it cannot parse too, by their Timestamp). @default 4 × memberTtlMs */
  gcAfterMs?: number;
  /** Deadline of each storage call. @default 5000 */
  callTimeoutMs?: number;
  /** Whether this node leads (it then writes the member digest and garbage-collects dead rows). @default () => false */
  isLeader?: () => boolean;
  /** Extra properties written with each heartbeat (e.g. the leader's lease renewal time, for status). */
  rowExtras?: () => Record<string, string | number | boolean>;
  /** @default systemClock */
  clock?: Clock;
  serverTime?: ServerTimeEstimate;
  /** @default silent */
  logger?: Logger;
}

/** Events of {@link Membership}. */
export interface MembershipEvents {
  join: Member;
  leave: Member;
  /** A member's metadata or incarnation changed. */
  update: Member;
  /** A member's liveness state changed between alive and suspect. */
  suspect: Member;
  /** A fresh view was read. */
  view: MembershipView;
  error: { error: GossiplessError; during: 'heartbeat' | 'list' | 'digest' | 'leave' | 'gc' };
}

/** Membership's default timings (one place: status and the cost model read them too). */
export const MEMBERSHIP_DEFAULTS = {
  heartbeatIntervalMs: 15_000,
  memberTtlMs: 45_000,
} as const;

/**
 * How late a member's heartbeat makes it `suspect`, as nodes and `gossipless status` judge it: two
 * missed heartbeats; knowing only the TTL, two thirds of it (the same 30 s at the defaults).
 */
export function suspectAfterMs(timings: { heartbeatIntervalMs?: number; memberTtlMs?: number } = {}): number {
  if (timings.heartbeatIntervalMs !== undefined) return timings.heartbeatIntervalMs * 2;
  if (timings.memberTtlMs !== undefined) return Math.round((timings.memberTtlMs * 2) / 3);
  return MEMBERSHIP_DEFAULTS.heartbeatIntervalMs * 2;
}

/**
 * Membership on the table: each node upserts its own row; liveness is judged by the storage
 * server's clock (the `Date` header of a read against each row's `Timestamp`).
 *
 * So that the reads do not grow as N² (issue #11), one node — the leader, or while there is none the
 * follower that took the role — reads the member partition each heartbeat and publishes it as one
 * digest entity; every other node reads that digest with one point read and expires members
 * locally at their last heartbeat + TTL. See docs/membership.md for the protocol and its bounds.
 *
 * @example
 * ```ts
 * const membership = new Membership({ storage, cluster: 'orders', metadata: { address: '10.0.0.7:8080' } });
 * membership.on('join', (m) => console.log('joined', m.nodeId));
 * await membership.start();
 * ```
 */
export class Membership extends TypedEmitter<MembershipEvents> {
  readonly nodeId: string;
  readonly cluster: string;
  readonly tableName: string;
  readonly heartbeatIntervalMs: number;
  readonly memberTtlMs: number;
  readonly suspectAfterMs: number;
  readonly gcAfterMs: number;
  readonly useDigest: boolean;
  /**
   * Members of a digest are judged at min(serverNow, scannedAt + digestTrustMs), never later: data
   * the writer read longer ago cannot vouch that a member alive then still heartbeats, and judging
   * it later would expire live members whose heartbeat is merely late. 1.5 × heartbeat (a digest is
   * normally at most one heartbeat + a round trip old), and at most TTL − heartbeat − min(1 s,
   * heartbeat / 2), so a member on time at the scan can never look dead.
   */
  readonly digestTrustMs: number;
  /** A follower takes over writing the digest when nobody has written it for this long. 2 × heartbeat + 1 s. */
  readonly digestClaimAfterMs: number;
  readonly #storage: StorageConnection;
  readonly #table: TableClient;
  readonly #callTimeoutMs: number;
  readonly #isLeader: () => boolean;
  readonly #rowExtras: () => Record<string, string | number | boolean>;
  readonly #clock: Clock;
  readonly #serverTime: ServerTimeEstimate;
  readonly #logger: Logger;
  readonly #startedAt: string;
  #metadata: Record<string, unknown>;
  #incarnation = 0;
  #view = new Map<string, Member>();
  /** Every parseable row at the last read, dead ones included (for garbage collection). */
  #allRows: Member[] = [];
  /** Row keys of rows that are not member rows, with their age by the server's `Timestamp`. */
  #malformedRows: Array<{ rowKey: string; ageMs: number }> = [];
  #serverNow: number | undefined;
  /** This node's row as last written, with the server time of that write: it is in its own view without waiting for a digest. */
  #own: { row: Record<string, unknown>; at: number } | undefined;
  /** The ETag of the digest this node last wrote as its writer (conditional writes, hand-over on stop). */
  #digestEtag: string | undefined;
  /** Metadata of members whose digest entry had to leave it out, by node id. */
  readonly #metadataCache = new Map<
    string,
    { startedAt: string; incarnation: number; metadata: Record<string, unknown> }
  >();
  #loop: Promise<void> | undefined;
  readonly #stop = new AbortController();
  #wake = new AbortController();
  #tableReady = false;
  #stopping: Promise<void> | undefined;
  readonly #closeTelemetry: () => void;
  /** Counters for status, benches and tests. `lists`: partition reads; `digestReads`: point reads of the digest. */
  readonly stats = {
    heartbeats: 0,
    lists: 0,
    digestReads: 0,
    digestWrites: 0,
    digestClaims: 0,
    metadataReads: 0,
    gcDeleted: 0,
    malformedRows: 0,
  };

  constructor(options: MembershipOptions) {
    super((error, event) => this.#logger.error(`a '${event}' listener threw: ${redactUnknown(error)}`));
    const identity = resolveNodeIdentity(options);
    this.nodeId = identity.nodeId;
    this.cluster = identity.cluster;
    this.tableName = busTableName(options.tablePrefix);
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? MEMBERSHIP_DEFAULTS.heartbeatIntervalMs;
    this.memberTtlMs = options.memberTtlMs ?? MEMBERSHIP_DEFAULTS.memberTtlMs;
    this.suspectAfterMs =
      options.suspectAfterMs ?? suspectAfterMs({ heartbeatIntervalMs: this.heartbeatIntervalMs });
    this.gcAfterMs = options.gcAfterMs ?? this.memberTtlMs * 4;
    this.useDigest = options.useDigest ?? true;
    if (!(this.heartbeatIntervalMs > 0) || this.memberTtlMs <= this.heartbeatIntervalMs) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `memberTtlMs (${this.memberTtlMs}) must exceed heartbeatIntervalMs (${this.heartbeatIntervalMs}), or live members would flap`,
      );
    }
    if (this.gcAfterMs < this.memberTtlMs) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `gcAfterMs (${this.gcAfterMs}) must be at least memberTtlMs (${this.memberTtlMs})`,
      );
    }
    this.digestTrustMs = Math.max(
      0,
      Math.min(
        this.heartbeatIntervalMs * 1.5,
        this.memberTtlMs - this.heartbeatIntervalMs - Math.min(1000, this.heartbeatIntervalMs / 2),
      ),
    );
    this.digestClaimAfterMs = this.heartbeatIntervalMs * 2 + 1000;
    this.#storage = options.storage;
    this.#table = options.storage.tableClient(this.tableName);
    this.#callTimeoutMs = options.callTimeoutMs ?? 5000;
    this.#isLeader = options.isLeader ?? (() => false);
    this.#rowExtras = options.rowExtras ?? (() => ({}));
    this.#clock = options.clock ?? systemClock;
    this.#serverTime = options.serverTime ?? new ServerTimeEstimate(this.#clock);
    this.#logger = redactingLogger(options.logger);
    this.#metadata = checkMetadata(options.metadata ?? {});
    this.#startedAt = new Date(this.#clock.wallNow()).toISOString();
    this.#closeTelemetry = membershipTelemetry(this);
  }

  /** Live members at the last read (this node included once its row is written). */
  members(): Member[] {
    return [...this.#view.values()];
  }

  /** The last view with the server time it was judged at. */
  view(): MembershipView | undefined {
    return this.#serverNow === undefined
      ? undefined
      : { members: this.members(), serverNow: this.#serverNow };
  }

  /** This node's advertised metadata. */
  get metadata(): Record<string, unknown> {
    return this.#metadata;
  }

  /** Starts heartbeating. Idempotent; storage outages are retried and reported as `error` events. */
  async start(): Promise<void> {
    if (this.#stop.signal.aborted)
      throw new GossiplessError('STOPPED', 'this membership was stopped; create a new one');
    this.#loop ??= this.#run();
  }

  /** Replaces this node's metadata and heartbeats at once. */
  async update(metadata: Record<string, unknown>): Promise<void> {
    this.#metadata = checkMetadata(metadata);
    this.#incarnation++;
    this.#wake.abort();
  }

  /** Reads the whole member partition now and refreshes the view (the digest is not used or written). */
  async refresh(options: { abortSignal?: AbortSignal } = {}): Promise<MembershipView> {
    return this.#list(options.abortSignal);
  }

  /** Leaves gracefully: stops heartbeating and deletes this node's row. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stop.abort();
      this.#wake.abort();
      await this.#loop;
      await this.#deleteOwnRow();
      await this.#handOverDigest();
      this.#closeTelemetry();
    })();
    return this.#stopping;
  }

  /** Deletes this node's row, retrying within one call deadline: a row left behind reads as a live member for memberTtlMs. */
  async #deleteOwnRow(): Promise<void> {
    try {
      await retryTransient(
        (abortSignal) => this.#table.deleteEntity(this.#partition(), this.nodeId, { abortSignal }),
        deadlineSignal(this.#callTimeoutMs),
      );
    } catch (error) {
      if (!isNotFound(error)) this.#report('leave', error);
    }
  }

  /**
   * A digest writer that leaves deletes the digest it last wrote (only if nobody has written it
   * since): the next follower to read finds none and takes the role at once, instead of waiting
   * digestClaimAfterMs for it to go stale — and its own departure shows in the next digest.
   */
  async #handOverDigest(): Promise<void> {
    const etag = this.#digestEtag;
    if (etag === undefined) return;
    this.#digestEtag = undefined;
    try {
      await this.#table.deleteEntity(memberDigestPartition(this.cluster), MEMBER_DIGEST_ROW_KEY, {
        etag,
        abortSignal: deadlineSignal(this.#callTimeoutMs),
      });
    } catch (error) {
      if (!isNotFound(error) && !isPreconditionFailed(error)) this.#report('digest', error);
    }
  }

  #partition(): string {
    return memberPartition(this.cluster);
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    let round = 0;
    while (!stop.aborted) {
      const startedAt = this.#clock.monotonicNow();
      // The second round comes a random part of an interval after the first: nodes started together
      // (a deployment, a bench) would otherwise heartbeat in the same second for ever, a burst of N
      // writes and N reads every interval instead of an even N / interval a second.
      const period = round++ === 0 ? this.heartbeatIntervalMs * Math.random() : this.heartbeatIntervalMs;
      await this.#heartbeat(stop);
      if (stop.aborted) break;
      try {
        if (!this.useDigest) await this.#list(stop);
        else if (this.#isLeader()) await this.#writeDigest(await this.#scanForDigest(stop), true, stop);
        else await this.#followDigest(stop);
        if (this.#isLeader()) await this.#collectGarbage(stop);
      } catch (error) {
        if (stop.aborted) break;
        this.#report('list', error);
      }
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
      await sleep(startedAt + period - this.#clock.monotonicNow(), stop, this.#wake.signal);
    }
  }

  async #heartbeat(stop: AbortSignal): Promise<void> {
    try {
      if (!this.#tableReady) {
        await this.#storage.createTableIfNotExists(this.tableName, {
          abortSignal: deadlineSignal(this.#callTimeoutMs, stop),
        });
        this.#tableReady = true;
      }
      const row = {
        partitionKey: this.#partition(),
        rowKey: this.nodeId,
        nodeId: this.nodeId,
        metadata: JSON.stringify(this.#metadata),
        startedAt: this.#startedAt,
        incarnation: this.#incarnation,
        ...this.#rowExtras(),
      };
      const probe = this.#serverTimeProbe();
      await this.#table.upsertEntity(row, 'Replace', {
        abortSignal: deadlineSignal(this.#callTimeoutMs, stop),
        onResponse: probe.onResponse,
      });
      // The row's Timestamp is at most this (the server stamped it before answering).
      const writtenAt = probe.serverNow();
      if (writtenAt !== undefined) this.#own = { row, at: writtenAt };
      this.stats.heartbeats++;
    } catch (error) {
      // The table can vanish (deleted by hand, an emulator restarted in memory): recreate it next time.
      if (isNotFound(error)) this.#tableReady = false;
      if (!stop.aborted) this.#report('heartbeat', error);
    }
  }

  /** Reads the partition for the digest: the live members as judged at the read. */
  async #scanForDigest(stop: AbortSignal): Promise<{ members: Member[]; scannedAt: number }> {
    const view = await this.#list(stop);
    return { members: view.members, scannedAt: view.serverNow };
  }

  /**
   * Publishes a scan as the digest: unconditionally by the leader (it has priority), else only if
   * the digest is still the one this node claimed or last wrote (its ETag), so two followers never
   * both keep the role. A refused write means someone else writes it now: this node stops.
   */
  async #writeDigest(
    scan: { members: Member[]; scannedAt: number },
    asLeader: boolean,
    stop: AbortSignal,
    etag?: string,
  ): Promise<void> {
    const properties = encodeDigest(
      { writer: this.nodeId, writerIsLeader: asLeader, scannedAt: scan.scannedAt },
      scan.members,
    ) ?? {
      // Too many members for one entity (tens of thousands, deflated): a marker no reader can use, so each reads the partition.
      format: 0,
      writer: this.nodeId,
      writerIsLeader: asLeader,
      scannedAt: scan.scannedAt,
    };
    const entity = {
      partitionKey: memberDigestPartition(this.cluster),
      rowKey: MEMBER_DIGEST_ROW_KEY,
      ...properties,
    };
    const abortSignal = deadlineSignal(this.#callTimeoutMs, stop);
    try {
      const response = asLeader
        ? await this.#table.upsertEntity(entity, 'Replace', { abortSignal })
        : await this.#table.updateEntity(entity, 'Replace', { etag: etag ?? '*', abortSignal });
      this.#digestEtag = response.etag;
      this.stats.digestWrites++;
    } catch (error) {
      // Refused: someone else wrote it since, the role is theirs. Aborted (stopping): the digest is
      // still the one this node claimed or wrote, and stop() hands it over by that ETag.
      if (isPreconditionFailed(error) || isNotFound(error)) this.#digestEtag = undefined;
      if (stop.aborted || isPreconditionFailed(error) || isNotFound(error)) return;
      this.#report('digest', error);
    }
  }

  /** A follower's heartbeat read: the digest if it is fresh, else take the writer's role (or wait for whoever took it). */
  async #followDigest(stop: AbortSignal): Promise<void> {
    const read = await this.#readDigest(stop);
    const mine = read.digest?.writer === this.nodeId && read.etag !== undefined;
    const attended = read.exists && read.serverNow - read.touchedAt <= this.digestClaimAfterMs;
    if (!mine && attended) {
      // A digest of another format (a newer node writes it) or an overflow marker: read the partition ourselves.
      if (!read.digest) await this.#list(stop);
      else await this.#applyDigest(read.digest, read.serverNow, stop);
      return;
    }
    let etag = mine ? read.etag : undefined;
    if (!mine) {
      etag = await this.#claimDigest(read.exists ? read.etag : undefined, stop);
      if (etag === undefined) {
        // Another follower took the role between our read and our claim: it writes this round.
        if (read.digest) await this.#applyDigest(read.digest, read.serverNow, stop);
        else this.#applyOwnOnly(read.serverNow);
        return;
      }
    }
    await this.#writeDigest(await this.#scanForDigest(stop), false, stop, etag);
  }

  async #readDigest(stop: AbortSignal): Promise<{
    exists: boolean;
    digest: MemberDigest | undefined;
    etag: string | undefined;
    /** Server time of the digest's last write (its Timestamp), claims included. */
    touchedAt: number;
    serverNow: number;
  }> {
    const probe = this.#serverTimeProbe();
    let row: Record<string, unknown> | undefined;
    try {
      row = await this.#table.getEntity<Record<string, unknown>>(
        memberDigestPartition(this.cluster),
        MEMBER_DIGEST_ROW_KEY,
        { abortSignal: deadlineSignal(this.#callTimeoutMs, stop), onResponse: probe.onResponse },
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.stats.digestReads++;
    const serverNow = probe.serverNow();
    if (serverNow === undefined) {
      throw new GossiplessError(
        'STORAGE_ERROR',
        'the membership digest response had no Date header; cannot judge liveness',
      );
    }
    if (!row) return { exists: false, digest: undefined, etag: undefined, touchedAt: 0, serverNow };
    const touchedAt = typeof row['timestamp'] === 'string' ? Date.parse(row['timestamp']) : Number.NaN;
    return {
      exists: true,
      digest: decodeDigest(row),
      etag: typeof row['etag'] === 'string' ? row['etag'] : undefined,
      touchedAt: Number.isNaN(touchedAt) ? 0 : touchedAt,
      serverNow,
    };
  }

  /**
   * Takes the digest writer's role with a conditional write: insert when there is no digest, else
   * a merge If-Match the ETag just read. Only one of many followers that found it stale wins;
   * the others wait for its digest. Returns the new ETag, or undefined when another node won.
   */
  async #claimDigest(etag: string | undefined, stop: AbortSignal): Promise<string | undefined> {
    const claim = {
      partitionKey: memberDigestPartition(this.cluster),
      rowKey: MEMBER_DIGEST_ROW_KEY,
      writer: this.nodeId,
      writerIsLeader: false,
    };
    const abortSignal = deadlineSignal(this.#callTimeoutMs, stop);
    try {
      const response =
        etag === undefined
          ? await this.#table.createEntity(claim, { abortSignal })
          : await this.#table.updateEntity(claim, 'Merge', { etag, abortSignal });
      this.stats.digestClaims++;
      this.#digestEtag = response.etag;
      return response.etag;
    } catch (error) {
      if (isAlreadyExists(error) || isPreconditionFailed(error) || isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Applies a digest read at `serverNow`, judging its members at min(serverNow, scannedAt +
   * digestTrustMs): members are expired here, by their last heartbeat + TTL on the server's clock,
   * not only when a later digest drops them; a stale digest (its writer died) freezes that clock
   * until a fresh one is written, so it delays leaves and never invents them.
   */
  async #applyDigest(digest: MemberDigest, serverNow: number, stop: AbortSignal): Promise<void> {
    const judgedAt = Math.min(serverNow, digest.scannedAt + this.digestTrustMs);
    const next = new Map<string, Member>();
    for (const entry of digest.entries) {
      const ageMs = Math.max(0, judgedAt - entry.lastHeartbeatAt);
      if (ageMs >= this.memberTtlMs) continue;
      const metadata = entry.metadata ?? (await this.#metadataOf(entry, stop));
      if (metadata === undefined) continue;
      next.set(entry.nodeId, {
        nodeId: entry.nodeId,
        metadata,
        startedAt: entry.startedAt,
        incarnation: entry.incarnation,
        lastHeartbeatAt: entry.lastHeartbeatAt,
        ageMs,
        // Suspicion as the writer judged it at its read: judged later, every member would look up to
        // one digest period later than it is, and nodes reading one digest would disagree.
        state: digest.scannedAt - entry.lastHeartbeatAt > this.suspectAfterMs ? 'suspect' : 'alive',
        ...(entry.leader ? { leader: entry.leader } : {}),
      });
    }
    this.#publishView(next, judgedAt);
  }

  /** Metadata left out of the digest (too large): from the cache, else one point read of the member's row. */
  async #metadataOf(
    entry: { nodeId: string; startedAt: string; incarnation: number },
    stop: AbortSignal,
  ): Promise<Record<string, unknown> | undefined> {
    const cached = this.#metadataCache.get(entry.nodeId);
    if (cached && cached.startedAt === entry.startedAt && cached.incarnation === entry.incarnation)
      return cached.metadata;
    try {
      const row = await this.#table.getEntity<Record<string, unknown>>(this.#partition(), entry.nodeId, {
        abortSignal: deadlineSignal(this.#callTimeoutMs, stop),
      });
      this.stats.metadataReads++;
      const member = parseMemberRow(row, 0, this.suspectAfterMs);
      if (!member) return undefined;
      this.#metadataCache.set(entry.nodeId, member);
      return member.metadata;
    } catch (error) {
      // Gone since the digest was written: it leaves with the next digest.
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** No usable data this round: the view stays, only this node's own entry is refreshed. */
  #applyOwnOnly(serverNow: number): void {
    this.#publishView(new Map(this.#view), serverNow);
  }

  /** Sets the view (with this node's own entry from its last heartbeat, if newer) and emits the events. */
  #publishView(next: Map<string, Member>, serverNow: number): void {
    const own = this.#own;
    const known = next.get(this.nodeId);
    if (own && (!known || known.lastHeartbeatAt < own.at)) {
      const member = parseMemberRow(
        { ...own.row, timestamp: new Date(own.at).toISOString() },
        Math.max(serverNow, own.at),
        this.suspectAfterMs,
      );
      if (member && member.ageMs < this.memberTtlMs) next.set(this.nodeId, member);
    }
    for (const nodeId of this.#metadataCache.keys())
      if (!next.has(nodeId)) this.#metadataCache.delete(nodeId);
    this.#applyView(next);
    this.#serverNow = serverNow;
    this.emit('view', { members: this.members(), serverNow });
  }

  async #list(signal: AbortSignal | undefined): Promise<MembershipView> {
    const rows: Array<Record<string, unknown>> = [];
    const probe = this.#serverTimeProbe();
    const pages = this.#table
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter: partitionEquals(this.#partition()) },
        abortSignal: deadlineSignal(this.#callTimeoutMs * 2, signal),
        onResponse: probe.onResponse,
      })
      .byPage({ maxPageSize: 1000 });
    for await (const page of pages) rows.push(...page);
    this.stats.lists++;
    const serverNow = probe.serverNow();
    // Liveness is judged by the server's clock only: never the local one.
    if (serverNow === undefined) {
      throw new GossiplessError(
        'STORAGE_ERROR',
        `the membership list response had no Date header; cannot judge liveness`,
      );
    }
    const next = new Map<string, Member>();
    this.#allRows = [];
    this.#malformedRows = [];
    for (const row of rows) {
      const member = parseMemberRow(row, serverNow, this.suspectAfterMs);
      if (!member) {
        this.stats.malformedRows++;
        const written = typeof row['timestamp'] === 'string' ? Date.parse(row['timestamp']) : NaN;
        if (typeof row['rowKey'] === 'string' && !Number.isNaN(written)) {
          this.#malformedRows.push({ rowKey: row['rowKey'], ageMs: serverNow - written });
        }
        continue;
      }
      this.#allRows.push(member);
      if (member.ageMs < this.memberTtlMs) next.set(member.nodeId, member);
    }
    this.#publishView(next, serverNow);
    return { members: this.members(), serverNow };
  }

  #applyView(next: Map<string, Member>): void {
    const previous = this.#view;
    this.#view = next;
    for (const [nodeId, member] of next) {
      const before = previous.get(nodeId);
      if (!before) this.emit('join', member);
      else {
        if (
          before.incarnation !== member.incarnation ||
          JSON.stringify(before.metadata) !== JSON.stringify(member.metadata)
        ) {
          this.emit('update', member);
        }
        if (before.state !== member.state) this.emit('suspect', member);
      }
    }
    for (const [nodeId, member] of previous) if (!next.has(nodeId)) this.emit('leave', member);
  }

  async #collectGarbage(stop: AbortSignal): Promise<void> {
    // A row nobody can read (a node of a newer version, a hand edit) is collected like a dead member
    // once the server's Timestamp says nobody has written it for gcAfterMs: otherwise it stays forever.
    const dead = [
      ...this.#allRows.map((m) => ({ rowKey: m.nodeId, ageMs: m.ageMs })),
      ...this.#malformedRows,
    ].filter((r) => r.ageMs > this.gcAfterMs && r.rowKey !== this.nodeId);
    // Entity-group transactions take at most 100 operations. The SDK's batch delete carries no ETag
    // (and Azurite would ignore If-Match in a batch, issue 1233): a node whose row is deleted just
    // as it comes back re-creates it with its next heartbeat.
    for (let i = 0; i < dead.length; i += 100) {
      if (stop.aborted || !this.#isLeader()) return;
      const actions: TransactionAction[] = dead
        .slice(i, i + 100)
        .map((r) => ['delete', { partitionKey: this.#partition(), rowKey: r.rowKey }]);
      try {
        await this.#table.submitTransaction(actions, {
          abortSignal: deadlineSignal(this.#callTimeoutMs, stop),
        });
        this.stats.gcDeleted += actions.length;
      } catch (error) {
        this.#report('gc', error);
      }
    }
  }

  /**
   * Taken just before a call: its `onResponse` feeds each response's `Date` to the server-time
   * estimate, and `serverNow()` is the server's time of the last response that had one.
   */
  #serverTimeProbe(): {
    onResponse: (response: { headers: { get(name: string): string | undefined } }) => void;
    serverNow: () => number | undefined;
  } {
    const sentAt = this.#serverTime.monotonicNow();
    let serverNow: number | undefined;
    return {
      onResponse: (response) => {
        const dateHeader = response.headers.get('date');
        this.#serverTime.observe(dateHeader, sentAt);
        serverNow = this.#serverNowFrom(dateHeader, sentAt) ?? serverNow;
      },
      serverNow: () => serverNow,
    };
  }

  /**
   * The server's time when a list response arrived. The header alone is truncated to the second,
   * so judging by it makes every row look up to a second younger than it is. The estimate (which
   * has just taken this header in) is finer; it is kept within what this very response proves —
   * the server read at least the header, and less than header + 1 s + the round trip — so a stale
   * or held-back estimate can never judge liveness beyond the header's own uncertainty.
   */
  #serverNowFrom(dateHeader: string | undefined, sentAt: number): number | undefined {
    const header = serverTimeFromDateHeader(dateHeader);
    if (header === undefined) return undefined;
    const roundTrip = Math.max(0, this.#serverTime.monotonicNow() - sentAt);
    const estimate = this.#serverTime.now() ?? header;
    return Math.round(Math.min(Math.max(estimate, header), header + 1000 + roundTrip));
  }

  #report(during: MembershipEvents['error']['during'], error: unknown): void {
    const wrapped = storageFailure(`membership ${during} on table ${this.tableName}`, error);
    this.#logger.warn(wrapped.message);
    this.emit('error', { error: wrapped, during });
  }
}

function checkMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const json = JSON.stringify(metadata);
  if (json === undefined || typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new GossiplessError('INVALID_INPUT', 'member metadata must be a JSON object');
  }
  if (json.length * 2 > 64 * 1024) {
    throw new GossiplessError(
      'PAYLOAD_TOO_LARGE',
      `member metadata is ${json.length * 2} bytes as stored; the limit is 65536 (Azure's 64 KiB per property)`,
    );
  }
  return metadata;
}
