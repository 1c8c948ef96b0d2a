import { EventEmitter } from 'node:events';
import { createHash, randomUUID } from 'node:crypto';
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
  /** Part of the cluster identity (never stored, only a hash of it). */
  key?: string | null;
  /** Only 1 can be honoured by one lease: a higher value is warned about and treated as 1. @default 1 */
  mastersRequired?: number;
  /** Higher weight campaigns for the lease first. @default Discover.weight() */
  weight?: number;
  /** Client-only: never campaigns and is not listed by other nodes. */
  client?: boolean;
  /** Server: may become master and is listed by other nodes. */
  server?: boolean;
  /**
   * `false` or `NoLeadershipElection`: never campaign (until `promote()`). Otherwise an elector
   * class or instance gets node-discover's hooks; its `promote()`/`demote()` calls campaign for and
   * hand back the lease, which decides.
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
 * import Discover from 'gossipless/shims/node-discover';
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
  /** The gossipless cluster node behind this instance (leader, members, bus). */
  readonly cluster: Cluster;
  /** The elector object node-discover would hold; the lease decides, so it only receives hooks. */
  readonly leadershipElector: LeadershipElection | undefined;
  readonly #gossipless: GossiplessShimOptions;
  readonly #hostName: string;
  #state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  #stopping: Promise<void> | undefined;
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
      const message = `gossipless node-discover shim: mastersRequired ${this.settings.mastersRequired} cannot be honoured by one lease; exactly one master is elected`;
      if (logger) logger.warn(message);
      else process.emitWarning(message, { code: 'GOSSIPLESS_MASTERS_REQUIRED' });
    }
    const chosen = o.leadershipElector;
    const noElection =
      chosen === false || chosen === NoLeadershipElection || chosen instanceof NoLeadershipElection;
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
    // node-discover nodes were one cluster when they shared a port and key.
    const legacyIdentity = `nd-${this.settings.port}${this.settings.key ? `-${identityTag(this.settings.key)}` : ''}`;
    const helloMs = interval(this.settings.helloInterval, this);
    this.cluster = bindCluster(this.#gossipless, {
      cluster: resolveClusterName(this.#gossipless.cluster, legacyIdentity),
      metadata: this.#advert(),
      // Campaigning starts after the first view, biased by weight (see #onView).
      campaign: false,
      membership: {
        heartbeatIntervalMs: helloMs,
        // A table round trip is slower than a datagram: never judge a node dead before 3 hellos.
        memberTtlMs: Math.max(this.settings.nodeTimeout, helloMs * 3),
      },
    });
    this.#wire();
    if (this.settings.start) this.start(callback);
  }

  /** Starts heartbeating, listening and (if eligible) campaigning. Storage outages never fail it. */
  start(callback?: DiscoverCallback): boolean | undefined {
    if (this.#state === 'starting' || this.#state === 'running') {
      callback?.(null, false);
      return false;
    }
    if (this.#state === 'stopped') {
      // The core node cannot be restarted; a new instance can (node-discover reused its socket).
      const error = new GossiplessError('STOPPED', 'this Discover instance was stopped; create a new one');
      if (callback) callback(error, false);
      else reportShimError(this, error, this.#gossipless.logger);
      return false;
    }
    this.#state = 'starting';
    void this.cluster.start().then(
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
   * Leaves: releases the lease if master (a follower takes over within one bus poll), deletes the
   * member row. Returns false when not running, otherwise a promise that settles once stopped.
   */
  stop(): false | Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'starting') return false;
    this.#state = 'stopped';
    clearTimeout(this.#checkTimer);
    clearTimeout(this.#campaignTimer);
    this.#stopping ??= this.cluster.stop().then(() => {
      this.emit('stopped', this);
    });
    return this.#stopping;
  }

  /** Makes this node eligible and campaigns for the lease; `promotion` fires once it holds it. */
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
    const unsubscribe = this.cluster.subscribe<ChannelPayload>(busChannel(channel), (message) =>
      this.#deliver(channel, message),
    );
    this.#subscriptions.set(channel, unsubscribe);
    this.channels.push(channel);
    return true;
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
    this.cluster.publish(busChannel(channel), payload).catch((error: unknown) => {
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
    return { nodeDiscover: advert };
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

  #wire(): void {
    const c = this.cluster;
    c.on('elected', () => {
      this.me.isMaster = true;
      this.#setHolder(c.nodeId);
      this.emit('promotion', this.me);
    });
    c.on('demoted', ({ reason }) => {
      this.me.isMaster = false;
      if (this.#holder === c.nodeId) this.#setHolder(undefined);
      // node-discover's stop() emits `stopped` only; the application stopped the node itself.
      if (reason !== 'stopped') this.emit('demotion', this.me);
    });
    c.on('leader-changed', ({ holder }) => this.#setHolder(holder));
    c.on('error', ({ error }) => reportShimError(this, error, this.#gossipless.logger));
    c.membership.on('join', (m) => this.#onJoin(m));
    c.membership.on('leave', (m) => this.#onLeave(m));
    c.membership.on('view', ({ members }) => this.#onView(members));
  }

  #toNode(member: Member, previous?: DiscoverNode): DiscoverNode | undefined {
    const advert = member.metadata['nodeDiscover'] as Partial<MemberAdvert> | undefined;
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
    const advert = member.metadata['nodeDiscover'] as Partial<MemberAdvert>;
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
    if (!this.me.isMasterEligible) return;
    const heavier = members.filter((m) => {
      const advert = m.metadata['nodeDiscover'] as Partial<MemberAdvert> | undefined;
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

  #deliver(channel: string, message: BusMessage<ChannelPayload>): void {
    const p = message.payload;
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
