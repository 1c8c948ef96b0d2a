import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { GossiplessError, type Cluster, type Member } from '../../src/index.js';
import {
  bindCluster,
  reportShimError,
  resolveClusterName,
  warnIgnoredOptions,
  type GossiplessShimOptions,
} from '../cluster-binding/index.js';

/** Member states, as swim's `Member.State`. */
export const MemberState = { Alive: 0, Suspect: 1, Faulty: 2 } as const;
/** A member state value. */
export type MemberStateValue = (typeof MemberState)[keyof typeof MemberState];

/** What swim reports for a member (`members()`, `change` and `update` payloads). */
export interface SwimMemberData {
  meta: unknown;
  host: string;
  state: MemberStateValue;
  incarnation: number;
}

/** Options that tuned swim's UDP protocol: accepted and ignored with one warning. */
export const TRANSPORT_OPTIONS: readonly string[] = [
  'codec',
  'disseminationFactor',
  'interval',
  'pingTimeout',
  'pingReqTimeout',
  'pingReqGroupSize',
  'udp',
  'suspectTimeout',
  'preferCurrentMeta',
  'joinCheckInterval',
];

/** swim's constructor options, plus the optional `gossipless` key. */
export interface SwimOptions {
  local: {
    /** `host:port` this node is known by; its port also names the cluster (see docs/shims.md). */
    host: string;
    meta?: unknown;
    incarnation?: number;
  };
  /**
   * Kept on `swim.joinTimeout`. swim waited this long for a seed to answer; a join through the
   * table fails with JoinFailedError when this node's row is not listed within `joinTimeout` if it
   * is ≥ 2000, else within {@link TABLE_JOIN_TIMEOUT_MS} (300 ms is a datagram figure). @default 300
   */
  joinTimeout?: number;
  codec?: string;
  disseminationFactor?: number;
  interval?: number;
  pingTimeout?: number;
  pingReqTimeout?: number;
  pingReqGroupSize?: number;
  suspectTimeout?: number;
  udp?: { type?: string; maxDgramSize?: number };
  preferCurrentMeta?: boolean;
  joinCheckInterval?: number;
  /** Where the cluster lives and its timings; see docs/shims.md. */
  gossipless?: GossiplessShimOptions;
}

/** swim's error types: the same names, and `meta` with the same fields. */
function swimError(
  name: string,
): new (meta?: Record<string, unknown>) => Error & { meta?: Record<string, unknown> } {
  const ErrorClass = class extends Error {
    meta?: Record<string, unknown>;
    constructor(meta?: Record<string, unknown>) {
      super(name);
      Object.defineProperty(this, 'name', { value: name });
      if (meta) this.meta = meta;
    }
  };
  Object.defineProperty(ErrorClass, 'name', { value: name });
  return ErrorClass;
}

/**
 * Joining failed: storage refused this node (403, 404, …: at once, with the storage error as
 * `cause`) or did not list it in time (with the last storage error, if any, as `cause`).
 */
export const JoinFailedError = swimError('JoinFailedError');

/** How long a join through the table may take when `joinTimeout` is a UDP figure (< 2000 ms). */
export const TABLE_JOIN_TIMEOUT_MS = 10_000;
/** `bootstrap` while started, or `join` while stopped. */
export const InvalidStateError = swimError('InvalidStateError');
/** The socket could not bind (kept for API shape; the shim opens no socket). */
export const ListenFailedError = swimError('ListenFailedError');

/** The callback of `bootstrap` and `join`. */
export type SwimCallback = (error?: Error) => void;

function toData(member: Member, faulty = false): SwimMemberData | undefined {
  const swim = member.metadata['swim'] as { host?: unknown; meta?: unknown } | undefined;
  if (!swim || typeof swim.host !== 'string') return undefined;
  return {
    meta: swim.meta,
    host: swim.host,
    state: faulty ? MemberState.Faulty : member.state === 'suspect' ? MemberState.Suspect : MemberState.Alive,
    incarnation: member.incarnation,
  };
}

/**
 * swim's API on gossipless membership: alive = fresh row, suspect = heartbeat late, faulty = past
 * the TTL or gone. See README.md next to this file for the legacy API it matches.
 *
 * @example
 * ```ts
 * import Swim from '@gossipless/runtime/shims/swim';
 * const swim = new Swim({ local: { host: '10.0.0.7:11000', meta: { app: 'api' } } });
 * swim.bootstrap([], (err) => { if (!err) console.log(swim.members()); });
 * swim.on(Swim.EventType.Change, (update) => console.log(update.host, update.state));
 * ```
 */
export class Swim extends EventEmitter {
  static EventType = { Change: 'change', Update: 'update', Error: 'error', Ready: 'ready' } as const;
  static State = { Started: 'started', Stopped: 'stopped' } as const;
  static Default = { joinTimeout: 300, joinCheckInterval: 50 };
  static Error = { JoinFailedError, InvalidStateError, ListenFailedError };
  static MemberState = MemberState;

  readonly opts: SwimOptions;
  state: 'started' | 'stopped' = Swim.State.Stopped;
  readonly joinTimeout: number;
  readonly #gossipless: GossiplessShimOptions;
  readonly #clusterName: string;
  #cluster: Cluster;
  /** The previous node's leave (or failed join) settling; a rejoin waits for it. */
  #leaving: Promise<void> | undefined;
  #lastError: GossiplessError | undefined;
  #joinTimer: NodeJS.Timeout | undefined;
  #local: { host: string; meta: unknown; incarnation: number };
  readonly #members = new Map<string, SwimMemberData>();
  readonly #faulty = new Map<string, SwimMemberData>();
  #viewed = false;
  #waiters: Array<{ done: () => void; fail: (error: Error) => void }> = [];

  constructor(opts: SwimOptions) {
    super();
    if (!opts?.local || typeof opts.local.host !== 'string' || !/^[^:\s]+:\d+$/.test(opts.local.host)) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `swim shim: opts.local.host must be "host:port", got ${JSON.stringify(opts?.local?.host)}`,
      );
    }
    this.opts = opts;
    this.#gossipless = opts.gossipless ?? {};
    this.joinTimeout = opts.joinTimeout || Swim.Default.joinTimeout;
    warnIgnoredOptions(
      'swim',
      opts as unknown as Record<string, unknown>,
      TRANSPORT_OPTIONS,
      this.#gossipless.logger,
    );
    this.#local = { host: opts.local.host, meta: opts.local.meta, incarnation: opts.local.incarnation ?? 0 };
    // swim nodes of one cluster shared seed hosts, which the table replaces: a port alone is not
    // specific to one service, so the name comes from options or GOSSIPLESS_CLUSTER.
    this.#clusterName = resolveClusterName(this.#gossipless.cluster, undefined, { shim: 'swim' });
    this.#cluster = this.#bind();
  }

  /** The gossipless cluster node behind this instance (a new one after `leave()` and `bootstrap()`). */
  get cluster(): Cluster {
    return this.#cluster;
  }

  #bind(): Cluster {
    const cluster = bindCluster(this.#gossipless, {
      cluster: this.#clusterName,
      metadata: { swim: { host: this.#local.host, meta: this.#local.meta } },
      campaign: false,
    });
    const current = (): boolean => cluster === this.#cluster;
    cluster.on('error', ({ error }) => {
      if (!current()) return;
      this.#lastError = error;
      // Refused (403 forbidden, 404 no such account, …): no retry will let this node join.
      if (this.#waiters.length > 0 && !this.#viewed && error.code !== 'STORAGE_UNAVAILABLE') {
        this.#failJoin(new JoinFailedError({ reason: error.message }), error);
        return;
      }
      reportShimError(this, error, this.#gossipless.logger);
    });
    cluster.membership.on('view', ({ members }) => current() && this.#onView(members));
    return cluster;
  }

  /**
   * Starts heartbeating, then calls back (or emits `ready`) once this node's row is in the table.
   * Calls back with JoinFailedError when storage refuses it or does not list it in time (see
   * `joinTimeout`); after a failed join or `leave()` it may be called again, as swim allows.
   */
  bootstrap(hosts?: string[], callback?: SwimCallback): void {
    if (this.state !== Swim.State.Stopped) {
      this.#fail(new InvalidStateError({ current: this.state, expected: Swim.State.Stopped }), callback);
      return;
    }
    this.state = Swim.State.Started;
    const previous = this.#leaving;
    const ready = previous
      ? previous.then(() => {
          this.#leaving = undefined;
          this.#viewed = false;
          this.#lastError = undefined;
          this.#cluster = this.#bind();
        })
      : Promise.resolve();
    ready
      .then(() => this.#cluster.start())
      .then(
        () => this.join(hosts, callback),
        (error: unknown) => {
          this.state = Swim.State.Stopped;
          this.#fail(error as Error, callback);
        },
      );
  }

  /**
   * Joins: the table is the seed, so `hosts` only need to be listed; calls back once this node's
   * row has been written and read back. A storage outage delays it (errors are events), never fails it.
   */
  join(hosts?: string[], callback?: SwimCallback): void {
    if (this.state !== Swim.State.Started) {
      this.#fail(new InvalidStateError({ current: this.state, expected: Swim.State.Started }), callback);
      return;
    }
    const done = (): void => {
      if (typeof callback === 'function') callback();
      else this.emit(Swim.EventType.Ready);
    };
    // swim waited for a seed to answer; here the table is the seed, so hosts need no answer.
    void hosts;
    if (this.#viewed) {
      queueMicrotask(done);
      return;
    }
    this.#waiters.push({ done, fail: (error) => this.#fail(error, callback) });
    this.#joinTimer ??= setTimeout(() => {
      const cause = this.#lastError;
      this.#failJoin(
        new JoinFailedError({
          reason: `this node was not listed within ${this.#joinDeadlineMs()} ms${cause ? `: ${cause.message}` : ''}`,
        }),
        cause,
      );
    }, this.#joinDeadlineMs());
  }

  /** Leaves: deletes this node's row (peers see it faulty) and stops. Resolves once settled. */
  leave(): Promise<void> {
    this.state = Swim.State.Stopped;
    this.#clearJoin();
    this.#leaving ??= this.#cluster.stop();
    return this.#leaving;
  }

  #joinDeadlineMs(): number {
    return this.joinTimeout >= 2000 ? this.joinTimeout : TABLE_JOIN_TIMEOUT_MS;
  }

  #clearJoin(): void {
    clearTimeout(this.#joinTimer);
    this.#joinTimer = undefined;
  }

  /** Fails every pending join and stops the node, so that `bootstrap` may be called again. */
  #failJoin(error: Error, cause: unknown): void {
    if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, enumerable: false });
    this.#clearJoin();
    this.state = Swim.State.Stopped;
    this.#leaving ??= this.#cluster.stop();
    for (const waiter of this.#waiters.splice(0)) waiter.fail(error);
  }

  /** Members known (`hasLocal` adds this node, `hasFaulty` adds those seen failing or leaving). */
  members(hasLocal?: boolean, hasFaulty?: boolean): SwimMemberData[] {
    const list = [...this.#members.values()].map((m) => ({ ...m }));
    if (hasLocal) list.push(this.#localData());
    if (hasFaulty) list.push(...[...this.#faulty.values()].map((m) => ({ ...m })));
    return list;
  }

  /**
   * A checksum of the membership, equal on nodes that see the same members, states and
   * incarnations (swim hashed the same string with farmhash; the value differs, not its use).
   */
  checksum(): string {
    const text = this.members(true)
      .sort(
        (a, b) => Number(a.host.split(':')[1]) - Number(b.host.split(':')[1]) || a.host.localeCompare(b.host),
      )
      .map((m) => `${m.host}${m.state}${m.incarnation}`)
      .join('-');
    return BigInt(`0x${createHash('sha256').update(text).digest('hex').slice(0, 16)}`).toString();
  }

  /** This node's `host:port`. */
  whoami(): string {
    return this.#local.host;
  }

  /** Alias of {@link whoami}, as swim has it. */
  localhost(): string {
    return this.#local.host;
  }

  /** Replaces this node's meta; peers get an `update` with a higher incarnation. */
  updateMeta(meta: unknown): void {
    this.#local.meta = meta;
    this.#local.incarnation += 1;
    this.cluster.membership
      .update({ swim: { host: this.#local.host, meta } })
      .catch((error: unknown) => reportShimError(this, error, this.#gossipless.logger));
    this.emit(Swim.EventType.Update, this.#localData());
  }

  #localData(): SwimMemberData {
    return {
      meta: this.#local.meta,
      host: this.#local.host,
      state: MemberState.Alive,
      incarnation: this.#local.incarnation,
    };
  }

  #fail(error: Error, callback?: SwimCallback): void {
    if (typeof callback === 'function') callback(error);
    else this.emit(Swim.EventType.Error, error);
  }

  #onView(members: Member[]): void {
    const seen = new Set<string>();
    for (const member of members) {
      if (member.nodeId === this.cluster.nodeId) continue;
      const data = toData(member);
      if (!data || data.host === this.#local.host) continue;
      seen.add(data.host);
      const before = this.#members.get(data.host);
      this.#members.set(data.host, data);
      if (!before) {
        // swim: a new member is a change, then an update.
        this.#faulty.delete(data.host);
        this.emit(Swim.EventType.Change, { ...data });
        this.emit(Swim.EventType.Update, { ...data });
      } else if (
        before.state !== data.state ||
        before.incarnation !== data.incarnation ||
        JSON.stringify(before.meta) !== JSON.stringify(data.meta)
      ) {
        this.emit(Swim.EventType.Update, { ...data });
      }
    }
    for (const [host, data] of this.#members) {
      if (seen.has(host)) continue;
      // Past the TTL or deleted: swim's Faulty, a change and an update.
      this.#members.delete(host);
      const faulty = { ...data, state: MemberState.Faulty };
      this.#faulty.set(host, faulty);
      this.emit(Swim.EventType.Change, { ...faulty });
      this.emit(Swim.EventType.Update, { ...faulty });
    }
    if (!this.#viewed && members.some((m) => m.nodeId === this.cluster.nodeId)) {
      this.#viewed = true;
      this.#clearJoin();
      for (const waiter of this.#waiters.splice(0)) waiter.done();
    }
  }
}
