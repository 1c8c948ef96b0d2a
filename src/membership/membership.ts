import type { TableClient, TransactionAction } from '@azure/data-tables';
import {
  ServerTimeEstimate,
  serverTimeFromDateHeader,
  sleep,
  systemClock,
  type Clock,
} from '../clock/index.js';
import { busTableName, memberPartition, partitionEquals } from '../table-layout/index.js';
import { GossiplessError } from '../errors/index.js';
import { TypedEmitter } from '../events/index.js';
import { redactingLogger, type Logger } from '../log/index.js';
import { resolveNodeIdentity } from '../node-id/index.js';
import { redactUnknown } from '../redact/index.js';
import {
  deadlineSignal,
  isNotFound,
  retryTransient,
  type StorageConnection,
  storageFailure,
} from '../storage/index.js';
import { membershipTelemetry } from '../telemetry/index.js';
import { parseMemberRow, type Member, type MembershipView } from './member.js';

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
  /** How often this node upserts its row and re-reads the list. @default 5000 */
  heartbeatIntervalMs?: number;
  /** A row is alive while serverNow − row.Timestamp < memberTtlMs. @default 15000 */
  memberTtlMs?: number;
  /** A member is `suspect` once its heartbeat is this late. @default 2 × heartbeatIntervalMs */
  suspectAfterMs?: number;
  /** The leader deletes rows dead for this long (rows it cannot parse too, by their Timestamp). @default 4 × memberTtlMs */
  gcAfterMs?: number;
  /** Deadline of each storage call. @default 5000 */
  callTimeoutMs?: number;
  /** Whether this node leads (it then garbage-collects dead rows). @default () => false */
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
  error: { error: GossiplessError; during: 'heartbeat' | 'list' | 'leave' | 'gc' };
}

/**
 * Membership on the table: each node upserts its own row; liveness is judged by the storage
 * server's clock (the `Date` header of the list response against each row's `Timestamp`).
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
  #loop: Promise<void> | undefined;
  readonly #stop = new AbortController();
  #wake = new AbortController();
  #tableReady = false;
  #stopping: Promise<void> | undefined;
  readonly #closeTelemetry: () => void;
  /** Counters for status and tests. */
  readonly stats = { heartbeats: 0, lists: 0, gcDeleted: 0, malformedRows: 0 };

  constructor(options: MembershipOptions) {
    super((error, event) => this.#logger.error(`a '${event}' listener threw: ${redactUnknown(error)}`));
    const identity = resolveNodeIdentity(options);
    this.nodeId = identity.nodeId;
    this.cluster = identity.cluster;
    this.tableName = busTableName(options.tablePrefix);
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
    this.memberTtlMs = options.memberTtlMs ?? 15_000;
    this.suspectAfterMs = options.suspectAfterMs ?? this.heartbeatIntervalMs * 2;
    this.gcAfterMs = options.gcAfterMs ?? this.memberTtlMs * 4;
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

  /** Reads the table now and refreshes the view (also done every heartbeat). */
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

  #partition(): string {
    return memberPartition(this.cluster);
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      const startedAt = this.#clock.monotonicNow();
      await this.#heartbeat(stop);
      if (stop.aborted) break;
      try {
        await this.#list(stop);
        if (this.#isLeader()) await this.#collectGarbage(stop);
      } catch (error) {
        if (stop.aborted) break;
        this.#report('list', error);
      }
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
      await sleep(startedAt + this.heartbeatIntervalMs - this.#clock.monotonicNow(), stop, this.#wake.signal);
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
      await this.#table.upsertEntity(
        {
          partitionKey: this.#partition(),
          rowKey: this.nodeId,
          nodeId: this.nodeId,
          metadata: JSON.stringify(this.#metadata),
          startedAt: this.#startedAt,
          incarnation: this.#incarnation,
          ...this.#rowExtras(),
        },
        'Replace',
        {
          abortSignal: deadlineSignal(this.#callTimeoutMs, stop),
          onResponse: this.#observer(),
        },
      );
      this.stats.heartbeats++;
    } catch (error) {
      // The table can vanish (deleted by hand, an emulator restarted in memory): recreate it next time.
      if (isNotFound(error)) this.#tableReady = false;
      if (!stop.aborted) this.#report('heartbeat', error);
    }
  }

  async #list(signal: AbortSignal | undefined): Promise<MembershipView> {
    let serverNow: number | undefined;
    const rows: Array<Record<string, unknown>> = [];
    const sentAt = this.#serverTime.monotonicNow();
    const pages = this.#table
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter: partitionEquals(this.#partition()) },
        abortSignal: deadlineSignal(this.#callTimeoutMs * 2, signal),
        onResponse: (r) => {
          const dateHeader = r.headers.get('date');
          this.#serverTime.observe(dateHeader, sentAt);
          serverNow = this.#serverNowFrom(dateHeader, sentAt) ?? serverNow;
        },
      })
      .byPage({ maxPageSize: 1000 });
    for await (const page of pages) rows.push(...page);
    this.stats.lists++;
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
    this.#applyView(next);
    this.#serverNow = serverNow;
    const view = { members: this.members(), serverNow };
    this.emit('view', view);
    return view;
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

  /** An `onResponse` callback feeding the server-time estimate, with the send time taken now. */
  #observer(): (response: { headers: { get(name: string): string | undefined } }) => void {
    const sentAt = this.#serverTime.monotonicNow();
    return (response) => this.#serverTime.observe(response.headers.get('date'), sentAt);
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
