import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  LEADER_CHANNEL,
  type BusMessage,
  type Cluster,
  type LeaderAnnouncement,
  type Member,
} from '../../src/index.js';
import {
  bindCluster,
  reportShimError,
  resolveClusterName,
  warnIgnoredOptions,
  type GossiplessShimOptions,
} from '../cluster-binding/index.js';

/** Options that only shaped democracy's UDP traffic: accepted and ignored with one warning. */
export const TRANSPORT_OPTIONS: readonly string[] = ['source', 'peers', 'maxPacketSize'];

/** Event names democracy uses itself: `send()` with one of them is not a custom event. */
export const RESERVED_EVENTS: readonly string[] = ['hello', 'vote', 'leader', 'subscribe'];

/** democracy's constructor options, plus the optional `gossipless` key. */
export interface DemocracyOptions {
  /** Heartbeat interval; the first election runs after two of them. @default 1000 */
  interval?: number;
  /** A node unseen this long is removed (the member TTL, at least 3 × interval). @default 3000 */
  timeout?: number;
  /** Transport-only, ignored with a warning. */
  maxPacketSize?: number;
  /** Transport-only (`host:port` to bind), ignored with a warning. */
  source?: string;
  /** Transport-only (`host:port` of the others: the table lists them), ignored with a warning. */
  peers?: string[];
  /** Higher weight campaigns for the lease first. @default Math.random() * Date.now() */
  weight?: number;
  /** This node's id. @default a random id */
  id?: string;
  /** Channels subscribed at construction. @default [] */
  channels?: string[];
  /** Where the cluster lives and its timings; see docs/shims.md. */
  gossipless?: GossiplessShimOptions;
}

/** A node as `nodes()` and the events report it. */
export interface DemocracyNode {
  id: string;
  /** `host:port` the node was configured with (democracy's `source`). */
  source?: string;
  weight: number;
  state: 'leader' | 'citizen';
  /** Server time of its last heartbeat (absent for this node, as in democracy). */
  last?: number;
  /** democracy's removal votes; the table decides removal, so always empty. */
  voters?: string[];
  channels: string[];
}

interface DemocracyAdvert {
  id: string;
  weight: number;
  source: string;
  channels: string[];
}

interface Envelope {
  /** `publish` on a channel (only subscribers hear it) or `send` of a custom event (everyone does). */
  kind: 'publish' | 'send';
  event: string;
  extra: unknown;
}

/** Bus channel all of a cluster's democracy traffic rides: one partition, one poll. */
const BUS_CHANNEL = 'democracy';

/**
 * democracy's API on gossipless: the leader is the blob-lease holder, nodes are live member rows,
 * `publish`/`send` ride the table bus. See README.md next to this file for the legacy API it matches.
 *
 * @example
 * ```ts
 * import Democracy from '@gossipless/runtime/shims/democracy';
 * const dem = new Democracy({ source: '0.0.0.0:5000', peers: ['10.0.0.2:5000'] });
 * dem.on('elected', () => startLeaderWork());
 * dem.subscribe('chat').on('chat', (msg) => console.log(msg));
 * ```
 */
export class Democracy extends EventEmitter {
  /** The resolved options (`source` and `peers` as given; they are not used). */
  readonly options: Required<Omit<DemocracyOptions, 'gossipless'>>;
  /** The gossipless cluster node behind this instance. */
  readonly cluster: Cluster;
  readonly #gossipless: GossiplessShimOptions;
  readonly #id: string;
  readonly #weight: number;
  /** Democracy id of each member row's node id, so events and nodes() use democracy's ids. */
  readonly #nodes = new Map<string, DemocracyNode>();
  #holder: string | undefined;
  /** A leader whose election this node heard before it knew the node: announced once it is added. */
  #announceWhenAdded: string | undefined;
  #campaignTimer: NodeJS.Timeout | undefined;
  #startedAt: number;
  readonly #subscribedAt = new Map<string, number>();
  #stopped = false;

  constructor(options: DemocracyOptions = {}) {
    super();
    this.#gossipless = options.gossipless ?? {};
    warnIgnoredOptions(
      'democracy',
      options as Record<string, unknown>,
      TRANSPORT_OPTIONS,
      this.#gossipless.logger,
    );
    this.options = {
      interval: options.interval || 1000,
      timeout: options.timeout || 3000,
      maxPacketSize: options.maxPacketSize || 508,
      source: options.source || '0.0.0.0:12345',
      peers: options.peers || [],
      weight: options.weight || Math.random() * Date.now(),
      id: options.id || randomBytes(6).toString('base64url'),
      channels: [...(options.channels || [])],
    };
    this.#id = this.options.id;
    this.#weight = this.options.weight;
    const interval = this.options.interval;
    this.cluster = bindCluster(this.#gossipless, {
      // democracy nodes were one cluster when they listed each other as peers: no name to derive.
      cluster: resolveClusterName(this.#gossipless.cluster, undefined, { shim: 'democracy' }),
      metadata: { democracy: this.#advert() },
      campaign: false,
      channels: true,
      membership: {
        heartbeatIntervalMs: interval,
        memberTtlMs: Math.max(this.options.timeout, interval * 3),
      },
    });
    this.#startedAt = this.cluster.serverTime.monotonicNow();
    for (const channel of this.options.channels) this.#subscribedAt.set(channel, this.#startedAt);
    this.#wire();
    this.start();
  }

  /** Starts heartbeating and, after two intervals, campaigning (democracy's first election). */
  start(): this {
    if (this.#stopped) return this;
    this.cluster.start().catch((error: unknown) => reportShimError(this, error, this.#gossipless.logger));
    this.#campaignTimer = setTimeout(() => this.#campaign(), this.options.interval * 2);
    return this;
  }

  /**
   * Not in democracy (its socket stayed open until exit): leaves, releasing the lease so another
   * node is elected within one bus poll, and deletes this node's row. Resolves once settled.
   */
  stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#campaignTimer);
    return this.cluster.stop();
  }

  /** Heartbeats now (the member row is the hello). */
  hello(): this {
    this.cluster.membership
      .update({ democracy: this.#advert() })
      .catch((error: unknown) => reportShimError(this, error, this.#gossipless.logger));
    return this;
  }

  /**
   * Sends a custom event to every other node (`send('event', data)`): they emit `event` with `data`.
   * democracy's own event names (`hello`, `vote`, `leader`, `subscribe`) are handled by the table:
   * `hello` heartbeats, the others are ignored.
   */
  send(event: string, extra?: unknown): this {
    if (event === 'hello') return this.hello();
    if (RESERVED_EVENTS.includes(event)) return this;
    return this.#publish({ kind: 'send', event, extra });
  }

  /** Subscribes to a channel: `publish` on it by other nodes emits the channel name with the message. */
  subscribe(channel: string): this {
    if (!this.options.channels.includes(channel)) this.options.channels.push(channel);
    if (!this.#subscribedAt.has(channel))
      this.#subscribedAt.set(channel, this.cluster.serverTime.monotonicNow());
    return this.hello();
  }

  /** Publishes to the nodes subscribed to `channel`. */
  publish(channel: string, msg: unknown): this {
    return this.#publish({ kind: 'publish', event: channel, extra: msg });
  }

  /**
   * Hands leadership back if this node leads (`resigned` fires once the lease is released). The lease
   * goes to whichever node acquires first, which may be this one again, as democracy warns.
   */
  resign(): this {
    if (this.cluster.isLeader) void this.cluster.elector.resign();
    return this;
  }

  /** All nodes by id, this one included (this one without `last` and `voters`, none with `source`, as democracy has it). */
  nodes(): Record<string, DemocracyNode> {
    const nodes: Record<string, DemocracyNode> = {};
    for (const node of this.#nodes.values()) {
      // democracy's nodes() copies every field but `source` (events carry it).
      const { source: _source, ...copy } = node;
      nodes[node.id] = { ...copy, voters: [...(node.voters ?? [])] };
    }
    nodes[this.#id] = this.#self();
    return nodes;
  }

  /** The leader, or null while there is none. */
  leader(): DemocracyNode | null {
    const nodes = this.nodes();
    for (const id in nodes) if (nodes[id]!.state === 'leader') return nodes[id]!;
    return null;
  }

  /** True while this node holds the lease. */
  isLeader(): boolean {
    return this.cluster.isLeader;
  }

  #self(): DemocracyNode {
    return {
      id: this.#id,
      weight: this.#weight,
      state: this.cluster.isLeader ? 'leader' : 'citizen',
      channels: this.options.channels,
    };
  }

  #advert(): DemocracyAdvert {
    return {
      id: this.#id,
      weight: this.#weight,
      source: this.options.source,
      channels: [...this.options.channels],
    };
  }

  #publish(envelope: Envelope): this {
    this.cluster.publish(BUS_CHANNEL, envelope).catch((error: unknown) => {
      reportShimError(this, error, this.#gossipless.logger);
    });
    return this;
  }

  /**
   * democracy elected the heaviest node. The lease picks whoever acquires first, so heavier nodes
   * campaign earlier: rank × interval, capped at 5 ranks.
   */
  #campaign(): void {
    if (this.#stopped) return;
    let heavier = 0;
    for (const node of this.#nodes.values()) if (node.weight > this.#weight) heavier++;
    const delayMs = Math.min(heavier, 5) * this.options.interval;
    this.#campaignTimer = setTimeout(() => {
      if (!this.#stopped) this.cluster.elector.setCampaign(true);
    }, delayMs);
  }

  #toNode(member: Member): DemocracyNode | undefined {
    const advert = member.metadata['democracy'] as Partial<DemocracyAdvert> | undefined;
    if (!advert || typeof advert.id !== 'string') return undefined;
    return {
      id: advert.id,
      source: typeof advert.source === 'string' ? advert.source : '',
      weight: typeof advert.weight === 'number' ? advert.weight : 0,
      state: member.nodeId === this.#holder ? 'leader' : 'citizen',
      last: member.lastHeartbeatAt,
      voters: [],
      channels: Array.isArray(advert.channels) ? advert.channels.filter((c) => typeof c === 'string') : [],
    };
  }

  #wire(): void {
    const c = this.cluster;
    c.on('elected', () => {
      this.#setHolder(c.nodeId);
      this.emit('elected', this.#self());
    });
    c.on('demoted', ({ reason }) => {
      if (this.#holder === c.nodeId) this.#holder = undefined;
      if (reason !== 'stopped') this.emit('resigned', this.#self());
    });
    c.on('leader-changed', ({ holder }) => {
      if (holder !== this.#holder) this.#setHolder(holder);
    });
    // democracy emits `leader` when another node announces itself elected: a broadcast that only
    // nodes already listening hear. The cluster's own announcement, read from the moment this node
    // subscribed, is that broadcast; the holder a newcomer learns from rows or the lease is not.
    c.subscribe<LeaderAnnouncement>(LEADER_CHANNEL, (message) => this.#onAnnouncement(message.payload), {
      since: 'subscribed',
    });
    c.on('error', ({ error }) => reportShimError(this, error, this.#gossipless.logger));
    c.membership.on('view', ({ members }) => this.#onView(members));
    // UDP reached only nodes that were there: the bus looks back, so it drops what came before.
    c.subscribe<Envelope>(BUS_CHANNEL, (message) => this.#deliver(message), { since: 'subscribed' });
  }

  #onAnnouncement(announcement: LeaderAnnouncement | null): void {
    if (announcement?.type !== 'elected' || typeof announcement.holder !== 'string') return;
    if (announcement.holder === this.cluster.nodeId) return;
    if (announcement.holder !== this.#holder) this.#setHolder(announcement.holder);
    const node = this.#nodes.get(announcement.holder);
    if (node) this.emit('leader', node);
    else this.#announceWhenAdded = announcement.holder;
  }

  #setHolder(holder: string | undefined): void {
    this.#holder = holder;
    for (const [nodeId, node] of this.#nodes) node.state = nodeId === holder ? 'leader' : 'citizen';
  }

  #onView(members: Member[]): void {
    if (this.#holder === undefined) {
      // A node that joins after the election learns the leader from the leader's own row, as
      // democracy's newcomers learned it from the leader's hello (no `leader` event either way).
      let latest: Member | undefined;
      for (const m of members) if (m.leader && (!latest || m.leader.epoch > latest.leader!.epoch)) latest = m;
      if (latest && latest.nodeId !== this.cluster.nodeId) this.#holder = latest.nodeId;
    }
    const seen = new Set<string>();
    for (const member of members) {
      if (member.nodeId === this.cluster.nodeId) continue;
      const node = this.#toNode(member);
      if (!node) continue;
      seen.add(member.nodeId);
      const known = this.#nodes.get(member.nodeId);
      if (known) {
        Object.assign(known, { ...node, state: known.state === 'leader' ? 'leader' : node.state });
        continue;
      }
      this.#nodes.set(member.nodeId, node);
      this.emit('added', node);
      if (this.#announceWhenAdded === member.nodeId) {
        this.#announceWhenAdded = undefined;
        if (this.#holder === member.nodeId) this.emit('leader', node);
      }
    }
    for (const [nodeId, node] of this.#nodes) {
      if (seen.has(nodeId)) continue;
      this.#nodes.delete(nodeId);
      if (this.#holder === nodeId) this.#holder = undefined;
      this.emit('removed', node);
    }
  }

  #deliver(message: BusMessage<Envelope>): void {
    const envelope = message.payload;
    if (message.from === this.cluster.nodeId || !envelope || typeof envelope.event !== 'string') return;
    const since = envelope.kind === 'publish' ? this.#subscribedAt.get(envelope.event) : this.#startedAt;
    if (since === undefined) return;
    // A channel subscribed after start hears only what was published after its subscribe().
    if (!this.cluster.bus.publishedSince(message, since)) return;
    if (RESERVED_EVENTS.includes(envelope.event)) return;
    this.emit(envelope.event, envelope.extra);
  }
}
