import { EventEmitter } from 'node:events';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { GossiplessError, type BusMessage, type Cluster, type Member } from '../../src/index.js';
import {
  bindCluster,
  identityTag,
  reportShimError,
  resolveClusterName,
  warnIgnoredOptions,
  type GossiplessShimOptions,
} from '../cluster-binding/index.js';
import { Sealer } from './seal.js';
import { TRANSPORT_OPTIONS } from './transport-options.js';

/** Channel names node-discover reserves for itself; `join` and `send` refuse them, as the original does. */
export const RESERVED_CHANNELS: readonly string[] = [
  'promotion',
  'demotion',
  'added',
  'removed',
  'master',
  'hello',
];

/** Options that only shaped UDP traffic: accepted and ignored with one warning. */
export { TRANSPORT_OPTIONS };

/** A millisecond setting, or a function evaluated on the instance (as node-discover allows). */
export type IntervalSetting = number | ((this: Discover) => number);

/** node-discover's constructor options, plus the optional `gossipless` key. */
export interface DiscoverOptions {
  /** How often this node heartbeats its member row ("hello"). @default 1000 */
  helloInterval?: IntervalSetting;
  /** How often `check` runs. @default 2000 */
  checkInterval?: IntervalSetting;
  /** A node is removed once unseen this long (the member TTL, at least 3 × helloInterval). @default 2000 */
  nodeTimeout?: number;
  /** Accepted for compatibility; must be ≥ nodeTimeout as in the original. @default nodeTimeout */
  masterTimeout?: number;
  /** Part of the cluster identity (as it was: same port, same cluster). @default 12345 */
  port?: number;
  /**
   * Encrypts channel payloads and advertisements (AES-256-GCM, key derived by scrypt) and names the
   * cluster with the rest of the identity: a table reader without it learns only sizes.
   */
  key?: string | null;
  /** One lease elects one master: only 1 is accepted, a higher value is refused. @default 1 */
  mastersRequired?: number;
  /** Higher weight campaigns for the lease first. @default Discover.weight() */
  weight?: number;
  /** Client-only: never campaigns and is not listed by other nodes. */
  client?: boolean;
  /** Server: may become master and is listed by other nodes. */
  server?: boolean;
  /**
   * `false` or `NoLeadershipElection`: never campaign (until `promote()`). A custom elector class or
   * instance gets node-discover's hooks and decides when this node campaigns: the shim campaigns
   * only when it calls `promote()` and hands the lease back on `demote()` (the lease arbitrates
   * between two nodes that both promote).
   */
  leadershipElector?: false | null | LeadershipElection | (new (discover: Discover) => LeadershipElection);
  /** Drop channel messages from other instances in this process. @default true */
  ignoreProcess?: boolean;
  /** Drop channel messages from this instance. @default true */
  ignoreInstance?: boolean;
  /** Legacy alias: `ignore: false` sets both ignoreProcess and ignoreInstance to false. */
  ignore?: boolean;
  /** Start at construction. @default true */
  start?: boolean;
  /** @default DISCOVERY_HOSTNAME or os.hostname() */
  hostname?: string;
  /** Alias of `hostname`. */
  hostName?: string;
  /** Sent with every hello (stored in the member row). */
  advertisement?: unknown;
  /** Transport-only, ignored with a warning. */
  address?: string;
  /** Transport-only, ignored with a warning. */
  broadcast?: string | null;
  /** Transport-only, ignored with a warning. */
  multicast?: string | null;
  /** Transport-only, ignored with a warning. */
  multicastTTL?: number | null;
  /** Transport-only, ignored with a warning. */
  unicast?: string | string[] | null;
  /** Transport-only, ignored with a warning. */
  reuseAddr?: boolean;
  /** Transport-only, ignored with a warning. */
  exclusive?: boolean;
  /** Where the cluster lives and its timings; see docs/shims.md. */
  gossipless?: GossiplessShimOptions;
}

/** `discover.me`: what this node tells the others. */
export interface DiscoverMe {
  isMaster: boolean;
  isMasterEligible: boolean;
  weight: number;
  address: string;
  advertisement: unknown;
}

/** A node in `discover.nodes`, as node-discover builds it from a hello. */
export interface DiscoverNode {
  isMaster: boolean;
  isMasterEligible: boolean;
  weight: number;
  /** The node's own address (node-discover used the datagram's source address). */
  address: string;
  advertisement: unknown;
  /** Server time of the node's last heartbeat, ms since the epoch. */
  lastSeen: number;
  hostName: string;
  port: number;
  /** The node id (node-discover: the instance uuid). */
  id: string;
}

/** The packet object node-discover passes as the second listener argument. */
export interface DiscoverPacket<T = unknown> {
  event: string;
  pid: string;
  iid: string;
  hostName: string;
  data: T;
}

/** The `rinfo` argument: where the message came from. */
export interface DiscoverRemoteInfo {
  address: string;
  family: 'IPv4';
  port: number;
  size: number;
}

/** The callback of the constructor and of `start()`. */
export type DiscoverCallback = (error: Error | null, success: boolean) => void;

/** The settings node-discover keeps on `discover.settings`. */
export interface DiscoverSettings {
  helloInterval: IntervalSetting;
  checkInterval: IntervalSetting;
  nodeTimeout: number;
  masterTimeout: number;
  port: number;
  key: string | null;
  mastersRequired: number;
  weight: number;
  client: boolean;
  server: boolean;
  ignoreProcess: boolean;
  ignoreInstance: boolean;
  start: boolean;
  hostname: string | null;
}

/** node-discover's pluggable elector: the hooks it calls, wired to the same events as the original. */
export interface LeadershipElection {
  start(discover: Discover): void;
  stop(): void;
  onNodeAdded(node: DiscoverNode, obj: DiscoverPacket, rinfo: DiscoverRemoteInfo): void;
  onNodeRemoved(node: DiscoverNode): void;
  onMasterAdded(node: DiscoverNode, obj: DiscoverPacket, rinfo: DiscoverRemoteInfo): void;
  helloReceived(
    node: DiscoverNode,
    obj: DiscoverPacket,
    rinfo: DiscoverRemoteInfo,
    isNew: boolean,
    wasMaster: boolean | null,
  ): void;
  check(): void;
}

/** node-discover's default elector. With the shim the lease elects, so its hooks do nothing. */
export class BasicLeadershipElection implements LeadershipElection {
  discover: Discover | undefined;
  constructor(discover?: Discover) {
    this.discover = discover;
  }
  onNodeAdded(): void {}
  onNodeRemoved(): void {}
  onMasterAdded(): void {}
  helloReceived(): void {}
  check(): void {}
  start(discover?: Discover): void {
    if (discover) this.discover = discover;
  }
  stop(): void {}
}

/** Disables election: the node never campaigns unless `promote()` is called. */
export class NoLeadershipElection extends BasicLeadershipElection {}

/** One id per process, as node-discover's `pid` field (it drives `ignoreProcess`). */
const PROCESS_UUID = randomUUID();

interface MemberAdvert {
  isMasterEligible: boolean;
  weight: number;
  address: string;
  advertisement: unknown;
  hostName: string;
  port: number;
  pid: string;
  listed: boolean;
}

interface ChannelPayload {
  channel: string;
  data: unknown;
  pid: string;
  iid: string;
  hostName: string;
}

function localAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const nic of list ?? []) if (nic.family === 'IPv4' && !nic.internal) return nic.address;
  }
  return '127.0.0.1';
}

/** Bus channel for a node-discover channel: names the bus cannot carry are hashed. */
function busChannel(channel: string): string {
  return /^[A-Za-z0-9._-]{1,60}$/.test(channel)
    ? `nd.${channel}`
    : `nd.${createHash('sha1').update(channel).digest('hex')}`;
}

function interval(setting: IntervalSetting, self: Discover): number {
  return typeof setting === 'function' ? setting.call(self) : setting;
}

/**
 * node-discover's API on gossipless: master = blob-lease holder, nodes = live member rows,
 * channels = table-bus channels. See README.md next to this file for the legacy API it matches.
 *
 * @example
 * ```ts
 * import Discover from '@gossipless/runtime/shims/node-discover';
 * const d = Discover({ port: 12345 }, (error, ok) => { … });
 * d.on('promotion', () => startMasterWork());
 * d.on('demotion', () => stopMasterWork());
 * ```
 */
export class Discover extends EventEmitter {
  /** Default weight: older processes weigh more (node-discover's formula). Overridable. */
  static weight: () => number = () => -(Date.now() / Math.pow(10, String(Date.now()).length));
  static BasicLeadershipElection = BasicLeadershipElection;
  static NoLeadershipElection = NoLeadershipElection;

  readonly settings: DiscoverSettings;
  readonly me: DiscoverMe;
  readonly nodes: Record<string, DiscoverNode> = {};
  readonly channels: string[] = [];
  /** The elector object node-discover would hold; the lease decides, so it only receives hooks. */
  readonly leadershipElector: LeadershipElection | undefined;
  readonly #gossipless: GossiplessShimOptions;
  readonly #hostName: string;
  #state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  #stopping: Promise<void> | undefined;
  #cluster: Cluster;
  readonly #clusterName: string;
  readonly #membershipTimings: { heartbeatIntervalMs: number; memberTtlMs: number };
  readonly #sealer: Sealer | undefined;
  /** A custom elector decides when to campaign; the shim's weight-ranked campaign stays off. */
  readonly #customElector: boolean;
  /** Node ids of this instance's earlier incarnations: all they sent predates this one's listening. */
  readonly #previousNodeIds = new Set<string>();
  #checkTimer: NodeJS.Timeout | undefined;
  #campaignTimer: NodeJS.Timeout | undefined;
  #holder: string | undefined;
  #masterAnnounced: string | undefined;
  #holderCheckedAt = 0;
  #firstView = true;
  readonly #subscriptions = new Map<string, () => void>();

  constructor(options?: DiscoverOptions | DiscoverCallback | null, callback?: DiscoverCallback) {
    super();
    if (typeof options === 'function') {
      callback = options;
      options = null;
    }
    const o: DiscoverOptions = options ?? {};
    this.#gossipless = o.gossipless ?? {};
    const logger = this.#gossipless.logger;
    const client = o.client || (!o.client && !o.server);
    const server = o.server || (!o.client && !o.server);
    this.settings = {
      helloInterval: o.helloInterval || 1000,
      checkInterval: o.checkInterval || 2000,
      nodeTimeout: o.nodeTimeout || 2000,
      masterTimeout: o.masterTimeout || o.nodeTimeout || 2000,
      port: o.port || 12345,
      key: o.key || null,
      mastersRequired: o.mastersRequired || 1,
      weight: o.weight || (this.constructor as typeof Discover).weight(),
      client: Boolean(client),
      server: Boolean(server),
      ignoreProcess: o.ignoreProcess !== false && o.ignore !== false,
      ignoreInstance: o.ignoreInstance !== false && o.ignore !== false,
      start: o.start !== false,
      hostname: o.hostname || o.hostName || null,
    };
    // The original's option checks, with its messages.
    if (!(this.settings.nodeTimeout >= interval(this.settings.checkInterval, this))) {
      throw new Error('nodeTimeout must be greater than or equal to checkInterval.');
    }
    if (!(this.settings.masterTimeout >= this.settings.nodeTimeout)) {
      throw new Error('masterTimeout must be greater than or equal to nodeTimeout.');
    }
    warnIgnoredOptions('node-discover', o as Record<string, unknown>, TRANSPORT_OPTIONS, logger);
    if (this.settings.mastersRequired > 1) {
      // Warning and electing one master anyway left code that counted on two masters with one.
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `node-discover shim: mastersRequired ${this.settings.mastersRequired} cannot be honoured: one blob lease elects exactly one master; remove the option (or set it to 1) and run the work that needed a second master on every node`,
      );
    }
    const chosen = o.leadershipElector;
    const noElection =
      chosen === false || chosen === NoLeadershipElection || chosen instanceof NoLeadershipElection;
    this.#customElector =
      !noElection &&
      chosen !== null &&
      chosen !== undefined &&
      chosen !== BasicLeadershipElection &&
      !(typeof chosen === 'object' && chosen.constructor === BasicLeadershipElection);
    this.leadershipElector =
      chosen === false
        ? undefined
        : chosen === null || chosen === undefined
          ? new BasicLeadershipElection(this)
          : typeof chosen === 'function'
            ? new chosen(this)
            : chosen;
    this.#wireElector();
    this.#hostName = this.settings.hostname ?? process.env['DISCOVERY_HOSTNAME'] ?? osHostname();
    this.me = {
      isMaster: false,
      isMasterEligible: this.settings.server && !noElection,
      weight: this.settings.weight,
      address: localAddress(),
      advertisement: o.advertisement,
    };
    // node-discover nodes were one cluster when they shared a port and key. A port alone is not
    // service-specific (every service on the default port of one account would share one master),
    // so without a key the name must be given.
    this.#clusterName = resolveClusterName(
      this.#gossipless.cluster,
      this.settings.key ? `nd-${this.settings.port}-${identityTag(this.settings.key)}` : undefined,
      { shim: 'node-discover' },
    );
    this.#sealer = this.settings.key ? new Sealer(this.settings.key, this.#clusterName) : undefined;
    const helloMs = interval(this.settings.helloInterval, this);
    this.#membershipTimings = {
      heartbeatIntervalMs: helloMs,
      // A table round trip is slower than a datagram: never judge a node dead before 3 hellos.
      memberTtlMs: Math.max(this.settings.nodeTimeout, helloMs * 3),
    };
    this.#cluster = this.#bind();
    // Read at each access against the term's monotonic step-down deadline, so code that checks
    // `me.isMaster` after a blocked event-loop turn never sees a stale `true`; true only once the
    // lease is held (`promotion`), on the current incarnation's node.
    Object.defineProperty(this.me, 'isMaster', {
      get: () => this.#cluster.isLeader,
      set: () => undefined,
      enumerable: true,
      configurable: true,
    });
    if (this.settings.start) this.start(callback);
  }

  /** The gossipless cluster node behind this instance (leader, members, bus); a new one after a restart. */
  get cluster(): Cluster {
    return this.#cluster;
  }

  #bind(): Cluster {
    const cluster = bindCluster(
      // With a key the node id is random too: the default one carries the host name and pid.
      this.#sealer && this.#gossipless.nodeId === undefined
        ? { ...this.#gossipless, nodeId: `nd-${randomBytes(8).toString('hex')}` }
        : this.#gossipless,
      {
        cluster: this.#clusterName,
        metadata: this.#advert(),
        // Campaigning starts after the first view, biased by weight (see #onView).
        campaign: false,
        channels: true,
        membership: this.#membershipTimings,
        // A restarted incarnation keeps the narrowed estimate of the server's clock: judged with a
        // fresh one (±1 s), its previous life's last messages could pass for sent after it started.
        serverTime: this.#cluster?.serverTime,
      },
    );
    this.#wire(cluster);
    return cluster;
  }

  /**
   * Starts heartbeating, listening and (if eligible) campaigning. Storage outages never fail it.
   * After `stop()` it starts again, as node-discover does: with a new cluster node (a new node id)
   * once the previous one has released its lease and row.
   */
  start(callback?: DiscoverCallback): boolean | undefined {
    if (this.#state === 'starting' || this.#state === 'running') {
      callback?.(null, false);
      return false;
    }
    const restart = this.#state === 'stopped';
    this.#state = 'starting';
    this.#firstView = true;
    this.#holder = undefined;
    this.#masterAnnounced = undefined;
    const previous = this.#stopping;
    // Listening starts with start(), as node-discover bound its socket there: channels subscribe now.
    const listen = (): Promise<void> => {
      for (const channel of this.channels) this.#subscribe(channel);
      return this.#cluster.start();
    };
    const ready = restart
      ? (previous ?? Promise.resolve()).then(() => {
          this.#stopping = undefined;
          if (this.#state !== 'starting') return;
          const predecessor = this.#cluster;
          this.#cluster = this.#bind();
          if (predecessor.nodeId !== this.#cluster.nodeId) this.#previousNodeIds.add(predecessor.nodeId);
          return listen();
        })
      : listen();
    void ready.then(
      () => {
        if (this.#state !== 'starting') return;
        this.#state = 'running';
        this.#scheduleCheck();
        this.emit('started', this);
        callback?.(null, true);
      },
      (error: unknown) => {
        // Only a stopped node or a programming error gets here: outages are retried by the core.
        this.#state = 'idle';
        if (callback) callback(error as Error, false);
        else reportShimError(this, error, this.#gossipless.logger);
      },
    );
    return undefined;
  }

  /**
   * Leaves, synchronous like node-discover's: the lease release (a follower takes over within one
   * bus poll, or at its next look at the lease on the leader's renewal grid) and the row delete start now, and `stopped` is emitted now. The process stays alive
   * until the release has landed, so `d.stop()` and then letting the event loop drain releases;
   * `process.exit()` right after it does not (migrate reports that pattern). Returns false when not
   * running, otherwise a promise of the release (node-discover returned undefined; nothing awaited it).
   */
  stop(): false | Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'starting') return false;
    this.#state = 'stopped';
    clearTimeout(this.#checkTimer);
    clearTimeout(this.#campaignTimer);
    for (const unsubscribe of this.#subscriptions.values()) unsubscribe();
    this.#subscriptions.clear();
    // A referenced timer holds the process open until the release lands, whatever the SDK's sockets do.
    const keepAlive = setInterval(() => undefined, 1000);
    // Released at once, as node-discover's master is gone at stop(): a follower takes over on the
    // release announcement or at its next look at the lease, the same instant a graceful handover
    // would have picked, while this node has already reported `stopped`.
    const stopping = this.#cluster.stop({ immediate: true }).finally(() => clearInterval(keepAlive));
    this.#stopping = stopping;
    this.emit('stopped', this);
    return stopping;
  }

  /**
   * Makes this node eligible and campaigns for the lease; `promotion` fires (and `me.isMaster`
   * turns true) once it holds it, not synchronously as in node-discover: a master that is not the
   * lease holder would be a second master (see docs/shims.md).
   */
  promote(): void {
    this.me.isMasterEligible = true;
    this.cluster.elector.setCampaign(true);
    void this.#publishAdvert();
  }

  /**
   * Gives up mastership: hands the lease back (a follower takes over). `permanent` also stops
   * campaigning, as node-discover's `isMasterEligible = false`.
   */
  demote(permanent?: boolean): void {
    this.me.isMasterEligible = !permanent;
    if (permanent) this.cluster.elector.setCampaign(false);
    void this.cluster.elector.resign();
    void this.#publishAdvert();
  }

  /** Emits `master` for a node, as node-discover's `master(node)` does. */
  master(node: DiscoverNode): void {
    this.emit('master', node);
  }

  /** Heartbeats now (the row is the hello). */
  hello(): void {
    void this.#publishAdvert();
  }

  /** Sets what this node advertises; peers see it in `node.advertisement` after the next heartbeat. */
  advertise(advertisement: unknown): void {
    this.me.advertisement = advertisement;
    void this.#publishAdvert();
  }

  /** Calls `fn` for every known node. */
  eachNode(fn: (node: DiscoverNode) => void): void {
    for (const id in this.nodes) fn(this.nodes[id]!);
  }

  /**
   * Joins a channel: `fn(data, obj, rinfo)` gets every message sent on it by other nodes.
   * Returns false for reserved names and channels already joined, as node-discover does.
   */
  // `data` defaults to `any` as in the legacy typings: it is whatever a peer sent, and legacy
  // handlers declare their own parameter types (`(event: Record<string, unknown>) => …`).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  join<T = any>(
    channel: string,
    fn?: (data: T, obj: DiscoverPacket<T>, rinfo: DiscoverRemoteInfo) => void,
  ): boolean {
    if (RESERVED_CHANNELS.includes(channel)) return false;
    if (this.channels.includes(channel)) return false;
    if (fn) this.on(channel, fn as (...args: unknown[]) => void);
    // Listening starts with start(), as node-discover bound its socket there: it subscribes then.
    if (this.#state === 'starting' || this.#state === 'running') this.#subscribe(channel);
    this.channels.push(channel);
    return true;
  }

  #subscribe(channel: string): void {
    // UDP delivered only what was sent while the socket was bound and the channel joined; the bus
    // looks back (~10 s) and would replay earlier messages, a previous incarnation's among them.
    const unsubscribe = this.#cluster.subscribe<unknown>(
      this.#busChannel(channel),
      (message) => this.#deliver(channel, message),
      { since: 'subscribed' },
    );
    this.#subscriptions.set(channel, unsubscribe);
  }

  #busChannel(channel: string): string {
    return this.#sealer ? `nd.${this.#sealer.channelName(channel)}` : busChannel(channel);
  }

  /** Leaves a channel. */
  leave(channel: string): boolean {
    this.#subscriptions.get(channel)?.();
    this.#subscriptions.delete(channel);
    const index = this.channels.indexOf(channel);
    if (index >= 0) this.channels.splice(index, 1);
    return true;
  }

  /** Sends on a channel (stored on the table bus); false for reserved names. */
  send(channel: string, data: unknown): boolean {
    if (RESERVED_CHANNELS.includes(channel)) return false;
    const payload: ChannelPayload = {
      channel,
      data,
      pid: PROCESS_UUID,
      iid: this.cluster.nodeId,
      hostName: this.#hostName,
    };
    const stored = this.#sealer ? this.#sealer.seal(payload, 'channel') : payload;
    this.cluster.publish(this.#busChannel(channel), stored).catch((error: unknown) => {
      reportShimError(this, error, this.#gossipless.logger);
    });
    return true;
  }

  /** Runs one check: refreshes who is master and emits `check` (called every checkInterval). */
  check(): void {
    void this.#refreshHolder();
    this.emit('check');
  }

  #advert(): Record<string, unknown> {
    const advert: MemberAdvert = {
      isMasterEligible: this.me.isMasterEligible,
      weight: this.me.weight,
      address: this.me.address,
      advertisement: this.me.advertisement,
      hostName: this.#hostName,
      port: this.settings.port,
      pid: PROCESS_UUID,
      // node-discover clients send no hello, so nobody lists them.
      listed: this.settings.server,
    };
    return { nodeDiscover: this.#sealer ? this.#sealer.seal(advert, 'advert') : advert };
  }

  /** A member's advert, opened with the key when there is one (rows sealed with another key are skipped). */
  #readAdvert(member: Member): Partial<MemberAdvert> | undefined {
    const raw = member.metadata['nodeDiscover'];
    const advert = this.#sealer ? this.#sealer.open(raw, 'advert') : raw;
    return advert && typeof advert === 'object' ? (advert as Partial<MemberAdvert>) : undefined;
  }

  async #publishAdvert(): Promise<void> {
    try {
      await this.cluster.membership.update(this.#advert());
      this.emit('helloEmitted');
    } catch (error) {
      reportShimError(this, error, this.#gossipless.logger);
    }
  }

  /** The same wiring as node-discover's resolveLeadership: the elector hears the instance's events. */
  #wireElector(): void {
    const elector = this.leadershipElector;
    if (!elector) return;
    this.on('started', () => elector.start(this));
    this.on('stopped', () => elector.stop());
    this.on('added', (node: DiscoverNode, obj: DiscoverPacket, rinfo: DiscoverRemoteInfo) =>
      elector.onNodeAdded(node, obj, rinfo),
    );
    this.on('removed', (node: DiscoverNode) => elector.onNodeRemoved(node));
    this.on(
      'helloReceived',
      (
        node: DiscoverNode,
        obj: DiscoverPacket,
        rinfo: DiscoverRemoteInfo,
        isNew: boolean,
        wasMaster: boolean | null,
      ) => elector.helloReceived(node, obj, rinfo, isNew, wasMaster),
    );
    this.on('master', (node: DiscoverNode, obj: DiscoverPacket, rinfo: DiscoverRemoteInfo) =>
      elector.onMasterAdded(node, obj, rinfo),
    );
    this.on('check', () => elector.check());
  }

  #wire(c: Cluster): void {
    // Events of a previous incarnation's node (still settling its stop) are not this instance's,
    // nor are those of a stopped one: node-discover emits nothing after `stopped`, while the
    // core's stop() may keep its membership running for seconds (a leader hands the lease over on
    // the followers' next look at it).
    const current = (): boolean => c === this.#cluster && this.#state !== 'stopped';
    c.on('elected', () => {
      if (!current()) return;
      this.#setHolder(c.nodeId);
      this.emit('promotion', this.me);
    });
    c.on('demoted', ({ reason }) => {
      if (!current()) return;
      if (this.#holder === c.nodeId) this.#setHolder(undefined);
      // node-discover's stop() emits `stopped` only; the application stopped the node itself.
      if (reason !== 'stopped') this.emit('demotion', this.me);
    });
    c.on('leader-changed', ({ holder }) => current() && this.#setHolder(holder));
    c.on('error', ({ error }) => reportShimError(this, error, this.#gossipless.logger));
    c.membership.on('join', (m) => current() && this.#onJoin(m));
    c.membership.on('leave', (m) => current() && this.#onLeave(m));
    c.membership.on('view', ({ members }) => current() && this.#onView(members));
  }

  #toNode(member: Member, previous?: DiscoverNode): DiscoverNode | undefined {
    const advert = this.#readAdvert(member);
    if (!advert || advert.listed === false) return undefined;
    const node = previous ?? ({} as DiscoverNode);
    node.isMaster = member.nodeId === this.#holder;
    node.isMasterEligible = Boolean(advert.isMasterEligible);
    node.weight = typeof advert.weight === 'number' ? advert.weight : 0;
    node.address = typeof advert.address === 'string' ? advert.address : '';
    node.advertisement = advert.advertisement;
    node.lastSeen = member.lastHeartbeatAt;
    node.hostName = typeof advert.hostName === 'string' ? advert.hostName : '';
    node.port = typeof advert.port === 'number' ? advert.port : this.settings.port;
    node.id = member.nodeId;
    return node;
  }

  #packet(member: Member, node: DiscoverNode): [DiscoverPacket<DiscoverNode>, DiscoverRemoteInfo] {
    const advert = this.#readAdvert(member) ?? {};
    // node-discover stamps lastSeen, address, hostName, port and id onto the hello's own data
    // object, so listeners see obj.data with the node's fields: keep that shape.
    const data = { ...node };
    const obj = {
      event: 'hello',
      pid: typeof advert.pid === 'string' ? advert.pid : '',
      iid: member.nodeId,
      hostName: node.hostName,
      data,
    };
    return [
      obj,
      { address: node.address, family: 'IPv4', port: node.port, size: JSON.stringify(obj).length },
    ];
  }

  #onJoin(member: Member): void {
    if (member.nodeId === this.cluster.nodeId || this.nodes[member.nodeId]) return;
    const node = this.#toNode(member);
    if (!node) return;
    this.nodes[member.nodeId] = node;
    const [obj, rinfo] = this.#packet(member, node);
    // node-discover's order for a first hello: added, master (if it is one), helloReceived.
    this.emit('added', node, obj, rinfo);
    if (node.isMaster) this.#announceMaster(node, obj, rinfo);
    this.emit('helloReceived', node, obj, rinfo, true, null);
  }

  #onLeave(member: Member): void {
    const node = this.nodes[member.nodeId];
    if (!node) return;
    delete this.nodes[member.nodeId];
    if (this.#holder === member.nodeId) this.#setHolder(undefined);
    this.emit('removed', node);
  }

  #onView(members: Member[]): void {
    for (const member of members) {
      if (member.nodeId === this.cluster.nodeId) continue;
      const previous = this.nodes[member.nodeId];
      if (!previous) {
        this.#onJoin(member);
        continue;
      }
      const wasMaster = previous.isMaster;
      const node = this.#toNode(member, previous);
      if (!node) continue;
      const [obj, rinfo] = this.#packet(member, node);
      this.emit('helloReceived', node, obj, rinfo, false, wasMaster);
    }
    if (this.settings.server) this.emit('helloEmitted');
    if (this.#firstView) {
      this.#firstView = false;
      this.#scheduleCampaign(members);
      void this.#refreshHolder(true);
    }
  }

  /**
   * node-discover promoted the heaviest eligible node. The lease picks whoever acquires first,
   * so heavier nodes start campaigning earlier: rank × helloInterval, capped at 5 ranks.
   */
  #scheduleCampaign(members: Member[]): void {
    if (!this.me.isMasterEligible || this.#customElector) return;
    const heavier = members.filter((m) => {
      const advert = this.#readAdvert(m);
      return (
        m.nodeId !== this.cluster.nodeId &&
        advert?.isMasterEligible === true &&
        typeof advert.weight === 'number' &&
        advert.weight > this.me.weight
      );
    }).length;
    const delayMs = Math.min(heavier, 5) * interval(this.settings.helloInterval, this);
    this.#campaignTimer = setTimeout(() => {
      if (this.#state !== 'stopped' && this.me.isMasterEligible) this.cluster.elector.setCampaign(true);
    }, delayMs);
  }

  /** Reads the lease blob when no holder is known, so a node that joins late learns the master. */
  async #refreshHolder(force = false): Promise<void> {
    const now = Date.now();
    if (!force && (this.#holder !== undefined || now - this.#holderCheckedAt < 5000)) return;
    this.#holderCheckedAt = now;
    try {
      const info = await this.cluster.leader();
      if (info.isHeld && this.#holder === undefined) this.#setHolder(info.holder);
    } catch (error) {
      reportShimError(this, error, this.#gossipless.logger);
    }
  }

  #setHolder(holder: string | undefined): void {
    this.#holder = holder;
    for (const id in this.nodes) this.nodes[id]!.isMaster = id === holder;
    if (holder === undefined) this.#masterAnnounced = undefined;
    const node = holder === undefined ? undefined : this.nodes[holder];
    if (node) {
      const member = this.cluster.members().find((m) => m.nodeId === holder);
      if (member) {
        const [obj, rinfo] = this.#packet(member, node);
        this.#announceMaster(node, obj, rinfo);
      }
    }
  }

  #announceMaster(node: DiscoverNode, obj: DiscoverPacket, rinfo: DiscoverRemoteInfo): void {
    if (this.#masterAnnounced === node.id) return;
    this.#masterAnnounced = node.id;
    this.emit('master', node, obj, rinfo);
  }

  #scheduleCheck(): void {
    const run = (): void => {
      if (this.#state !== 'running') return;
      this.check();
      this.#checkTimer = setTimeout(run, interval(this.settings.checkInterval, this));
    };
    this.#checkTimer = setTimeout(run, interval(this.settings.checkInterval, this));
  }

  #deliver(channel: string, message: BusMessage<unknown>): void {
    // Its new node id defeats ignoreInstance, and right after a restart the clock bounds behind
    // `since: 'subscribed'` may not yet tell its last messages from new ones: the id does, exactly.
    if (this.#previousNodeIds.has(message.from)) return;
    const opened = this.#sealer ? this.#sealer.open(message.payload, 'channel') : message.payload;
    const p = opened as ChannelPayload | undefined;
    if (!p || typeof p !== 'object' || p.channel !== channel) return;
    const self = this.cluster.nodeId;
    if (this.settings.ignoreInstance && message.from === self) return;
    if (this.settings.ignoreProcess && p.pid === PROCESS_UUID && message.from !== self) return;
    const obj: DiscoverPacket = {
      event: channel,
      pid: p.pid,
      iid: message.from,
      hostName: p.hostName,
      data: p.data,
    };
    const sender = this.nodes[message.from];
    const rinfo: DiscoverRemoteInfo = {
      address: sender?.address ?? '',
      family: 'IPv4',
      port: sender?.port ?? this.settings.port,
      size: JSON.stringify(obj).length,
    };
    this.emit(channel, p.data, obj, rinfo);
  }
}

/** node-discover's export: callable with and without `new`, with its statics. */
export interface DiscoverFactory {
  (options?: DiscoverOptions | DiscoverCallback | null, callback?: DiscoverCallback): Discover;
  new (options?: DiscoverOptions | DiscoverCallback | null, callback?: DiscoverCallback): Discover;
  readonly prototype: Discover;
  /** The default weight function; assign to change it for instances created afterwards. */
  weight: () => number;
  BasicLeadershipElection: typeof BasicLeadershipElection;
  NoLeadershipElection: typeof NoLeadershipElection;
}

/**
 * `module.exports = Discover` of node-discover: a class that may also be called without `new`
 * (the proxy's `apply` constructs), with `Discover.weight` and the elector statics.
 */
export const DiscoverFactory = new Proxy(Discover, {
  apply: (target, _thisArg, args: ConstructorParameters<typeof Discover>) => new target(...args),
}) as unknown as DiscoverFactory;
