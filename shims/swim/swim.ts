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
  /** Accepted and kept on `swim.joinTimeout`; the shim calls back once the table lists this node. @default 300 */
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

/** Joining found nobody (kept for API shape; the table never makes the shim raise it). */
export const JoinFailedError = swimError('JoinFailedError');
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
 * import Swim from 'gossipless/shims/swim';
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
  /** The gossipless cluster node behind this instance. */
  readonly cluster: Cluster;
  readonly #gossipless: GossiplessShimOptions;
  #local: { host: string; meta: unknown; incarnation: number };
  readonly #members = new Map<string, SwimMemberData>();
  readonly #faulty = new Map<string, SwimMemberData>();
  #viewed = false;
  #waiters: Array<() => void> = [];
  #everStarted = false;

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
    // swim nodes of one cluster shared a port (and found each other through seed hosts).
    const port = opts.local.host.split(':')[1];
    this.cluster = bindCluster(this.#gossipless, {
      cluster: resolveClusterName(this.#gossipless.cluster, `swim-${port}`),
      metadata: { swim: { host: this.#local.host, meta: this.#local.meta } },
      campaign: false,
    });
    this.cluster.on('error', ({ error }) => reportShimError(this, error, this.#gossipless.logger));
    this.cluster.membership.on('view', ({ members }) => this.#onView(members));
  }

  /** Starts heartbeating, then calls back (or emits `ready`) once this node's row is in the table. */
  bootstrap(hosts?: string[], callback?: SwimCallback): void {
    if (this.state !== Swim.State.Stopped || this.#everStarted) {
      this.#fail(new InvalidStateError({ current: this.state, expected: Swim.State.Stopped }), callback);
      return;
    }
    this.#everStarted = true;
    this.state = Swim.State.Started;
    this.cluster.start().then(
      () => this.join(hosts, callback),
      (error: unknown) => this.#fail(error as Error, callback),
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
    if (this.#viewed) queueMicrotask(done);
    else this.#waiters.push(done);
  }

  /** Leaves: deletes this node's row (peers see it faulty) and stops. Resolves once settled. */
  leave(): Promise<void> {
    this.state = Swim.State.Stopped;
    return this.cluster.stop();
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
      for (const done of this.#waiters.splice(0)) done();
    }
  }
}
