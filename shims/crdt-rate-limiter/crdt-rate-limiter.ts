import {
  GossiplessError,
  TypedEmitter,
  WindowedCounterTable,
  isGossiplessError,
  redact,
  type Cluster,
} from '../../src/index.js';
import { bindCluster, resolveClusterName, type GossiplessShimOptions } from '../cluster-binding/index.js';

/** The `role` in the member metadata of a limiter's own cluster node. */
const LIMITER_ROLE = 'crdt-rate-limiter';

/** How the limit is shared across the cluster. */
export type CrdtRateLimiterMode = 'split' | 'table';

/** Options of {@link CrdtRateLimiter}. `limit`, `windowMs`, `nodeId` and `keyPrefix` are the conventional shape. */
export interface CrdtRateLimiterOptions {
  /** Requests allowed per key per window, across the whole cluster. */
  limit: number;
  /** Window length; windows are fixed and aligned to the storage server's clock. */
  windowMs: number;
  /** This node's id in the G-counter (and its member row when the limiter owns the cluster node). @default the cluster's node id */
  nodeId?: string;
  /** Prepended to every key. @default '' */
  keyPrefix?: string;
  /**
   * `split` (default): each node allows `limit / liveMembers` per window, no I/O on the request
   * path. `table`: one G-counter row per node per key and window in the table, summed every
   * `syncIntervalMs`; decisions still never wait on storage. For low-cardinality keys.
   * @default 'split'
   */
  mode?: CrdtRateLimiterMode;
  /** Table mode: how often own counts are written and the others' read. @default 1000 */
  syncIntervalMs?: number;
  /**
   * Live members assumed before the first membership read (split mode). Without it the limiter
   * admits nothing until that read lands (one table round trip after start; `await ready()`):
   * assuming 1 made every new pod of a rolling update admit the whole cluster-wide limit.
   * @default undefined (admit nothing until the first read)
   */
  initialMembers?: number;
  /**
   * An existing cluster node to count members with and store counters through (for example the
   * node-discover shim's `discover.cluster`). Without one, the limiter runs its own node that
   * never campaigns, configured by `gossipless`.
   */
  cluster?: Cluster;
  /**
   * Where the limiter's own cluster node lives, when `cluster` is not given. Its cluster name is
   * required (`gossipless.cluster` or `GOSSIPLESS_CLUSTER`): limiters with the same name on one
   * storage account share one limit, so there is no default.
   */
  gossipless?: GossiplessShimOptions;
  /** Start at construction (only for the limiter's own node). @default true */
  start?: boolean;
}

/** The outcome of one {@link CrdtRateLimiter.consume}. */
export interface RateLimitDecision {
  allowed: boolean;
  /** What this node may still allow for the key in this window (after this request if allowed). */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
  /** The limit this decision was held to: `limit / liveMembers` in split mode, `limit` in table mode. */
  effectiveLimit: number;
  /** The cluster-wide count this node knows of (own count plus merged or synced counts of others). */
  knownTotal: number;
}

/** One key's G-counter for one window: count per node id. */
export interface GCounterWindow {
  window: number;
  counts: Record<string, number>;
}

/** A limiter's CRDT state: what `state()` returns and `merge()` accepts. */
export interface CrdtRateLimiterState {
  nodeId: string;
  windowMs: number;
  keys: Record<string, GCounterWindow>;
}

/** Events of {@link CrdtRateLimiter}. */
export interface CrdtRateLimiterEvents {
  /** A table sync or the limiter's own cluster node failed; decisions go on with what is known. */
  error: { error: GossiplessError };
  /** Table mode: a sync round finished. */
  sync: { keys: number; window: number };
}

/**
 * Method and option names of the shim, for `gossipless migrate`'s in-house limiter mapping
 * (`gossipless.config.json`): the codemod rewrites an in-house limiter's calls onto these.
 */
export const CRDT_RATE_LIMITER_API = {
  constructorOptions: ['limit', 'windowMs', 'nodeId', 'keyPrefix', 'mode', 'syncIntervalMs'],
  methods: ['tryConsume', 'consume', 'merge', 'state', 'start', 'stop'],
} as const;

interface Entry {
  window: number;
  counts: Map<string, number>;
  /** Own count last written to the table (table mode). */
  synced: number;
  /** Key as stored (prefix included). */
  key: string;
}

/**
 * The conventional in-house CRDT (G-counter) rate limiter, backed by gossipless: live members from
 * the membership table instead of gossip, and in table mode counters in the table instead of
 * gossiped state. See docs/shims.md for the error bound of each mode.
 *
 * @example
 * ```ts
 * import { CrdtRateLimiter } from '@gossipless/runtime/shims/crdt-rate-limiter';
 * const limiter = new CrdtRateLimiter({ limit: 600, windowMs: 60_000, keyPrefix: 'api:' });
 * if (!limiter.tryConsume(clientId)) return reply.code(429).send();
 * ```
 */
export class CrdtRateLimiter extends TypedEmitter<CrdtRateLimiterEvents> {
  readonly limit: number;
  readonly windowMs: number;
  readonly keyPrefix: string;
  readonly mode: CrdtRateLimiterMode;
  readonly syncIntervalMs: number;
  readonly nodeId: string;
  /** The cluster node that counts members (and carries counters in table mode). */
  readonly cluster: Cluster;
  readonly #ownsCluster: boolean;
  readonly #initialMembers: number | undefined;
  readonly #ready: Promise<void>;
  /** Live members at the last membership read; kept from the `view` event so a decision reads one number. */
  #liveMembers: number | undefined;
  readonly #entries = new Map<string, Entry>();
  #counters: WindowedCounterTable | undefined;
  #syncTimer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #sweepWindow = 0;
  #started = false;
  #stopped = false;

  constructor(options: CrdtRateLimiterOptions) {
    super();
    const o = options ?? ({} as CrdtRateLimiterOptions);
    if (!Number.isFinite(o.limit) || o.limit < 0) {
      throw new GossiplessError('INVALID_OPTIONS', `limit must be a number ≥ 0, got ${String(o.limit)}`);
    }
    if (!Number.isInteger(o.windowMs) || o.windowMs < 1) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `windowMs must be a positive integer (milliseconds), got ${String(o.windowMs)}`,
      );
    }
    const mode = o.mode ?? 'split';
    if (mode !== 'split' && mode !== 'table') {
      throw new GossiplessError('INVALID_OPTIONS', `mode must be 'split' or 'table', got ${String(mode)}`);
    }
    this.limit = o.limit;
    this.windowMs = o.windowMs;
    this.keyPrefix = o.keyPrefix ?? '';
    this.mode = mode;
    this.syncIntervalMs = o.syncIntervalMs ?? 1000;
    if (!Number.isInteger(this.syncIntervalMs) || this.syncIntervalMs < 50) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `syncIntervalMs must be an integer ≥ 50, got ${String(o.syncIntervalMs)}`,
      );
    }
    if (o.initialMembers !== undefined && !(Number.isInteger(o.initialMembers) && o.initialMembers >= 1)) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `initialMembers must be an integer ≥ 1, got ${String(o.initialMembers)}`,
      );
    }
    this.#initialMembers = o.initialMembers;
    this.#ownsCluster = o.cluster === undefined;
    this.cluster =
      o.cluster ??
      bindCluster(
        { ...o.gossipless, nodeId: o.gossipless?.nodeId ?? o.nodeId },
        {
          // No default name: a shared one ('rate-limiter') made unrelated services on one storage
          // account a single limiter, each admitting a share of the other's limit (issue 13).
          cluster: resolveClusterName(o.gossipless?.cluster, undefined, {
            shim: 'crdt-rate-limiter',
            reason:
              'a default name would make every limiter in the storage account one limiter, splitting one limit across unrelated services (or pass `cluster`, an existing cluster node, to count its members)',
          }),
          metadata: { role: LIMITER_ROLE },
          campaign: false,
        },
      );
    this.nodeId = o.nodeId ?? this.cluster.nodeId;
    // A limiter that runs its own node counts only limiter nodes: with GOSSIPLESS_CLUSTER set, the
    // node-discover shim of the same process joins the same cluster, and counting its row too
    // would halve every node's share. A limiter given a cluster node counts that cluster's members.
    const counts = (member: { metadata: Record<string, unknown> }): boolean =>
      !this.#ownsCluster || member.metadata['role'] === LIMITER_ROLE;
    const view = this.cluster.membership.view();
    if (view) this.#liveMembers = Math.max(1, view.members.filter(counts).length);
    this.#ready = view
      ? Promise.resolve()
      : new Promise((resolve) => this.cluster.membership.once('view', () => resolve()));
    this.cluster.membership.on('view', ({ members }) => {
      this.#liveMembers = Math.max(1, members.filter(counts).length);
    });
    if (this.#ownsCluster) {
      this.cluster.on('error', ({ error }) => this.#report(error));
    }
    if (o.start !== false) this.start();
  }

  /** Starts the limiter's own cluster node (if it owns one) and, in table mode, syncing. Idempotent. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    if (this.#ownsCluster) {
      this.cluster.start().catch((error: unknown) => this.#report(error));
    }
    if (this.mode === 'table') this.#scheduleSync();
  }

  /** Stops syncing (after one last write of own counts) and the limiter's own cluster node. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#syncTimer);
    await this.#syncing;
    if (this.mode === 'table' && this.#started) await this.#syncOnce().catch(() => undefined);
    if (this.#ownsCluster) await this.cluster.stop();
  }

  /**
   * Resolves once the first membership read has landed: from then on the limit is split across the
   * members the table lists. Before it, split mode admits only what `initialMembers` allows.
   */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Live members the limit is split across (never less than 1), or `Infinity` before the first
   * membership read when no `initialMembers` was given (the share is then 0).
   */
  liveMembers(): number {
    return this.#liveMembers ?? this.#initialMembers ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Consumes `cost` from `key` if the limit allows it. Synchronous and I/O-free in both modes.
   * Returns a boolean, as in-house limiters did (awaiting it works too).
   */
  tryConsume(key: string, cost = 1): boolean {
    return this.consume(key, cost).allowed;
  }

  /** Like {@link tryConsume}, with the remaining budget and reset time. */
  consume(key: string, cost = 1): RateLimitDecision {
    if (typeof key !== 'string') {
      throw new GossiplessError('INVALID_INPUT', `rate-limit key must be a string, got ${typeof key}`);
    }
    if (!Number.isFinite(cost) || cost < 0) {
      throw new GossiplessError('INVALID_INPUT', `cost must be a number ≥ 0, got ${String(cost)}`);
    }
    const now = this.cluster.bus.serverNow();
    const window = Math.floor(now / this.windowMs);
    const resetMs = (window + 1) * this.windowMs - now;
    const entry = this.#entry(this.keyPrefix + key, window);
    const own = entry.counts.get(this.nodeId) ?? 0;
    let total = 0;
    for (const count of entry.counts.values()) total += count;
    let allowed: boolean;
    let effectiveLimit: number;
    let remaining: number;
    if (this.mode === 'split') {
      effectiveLimit = this.limit / this.liveMembers();
      // Merged counts of others (from merge()) can only make the decision stricter.
      allowed = own + cost <= effectiveLimit && total + cost <= this.limit;
      remaining = Math.min(effectiveLimit - own, this.limit - total);
    } else {
      effectiveLimit = this.limit;
      allowed = total + cost <= this.limit;
      remaining = this.limit - total;
    }
    if (allowed) {
      entry.counts.set(this.nodeId, own + cost);
      total += cost;
      remaining -= cost;
    }
    return {
      allowed,
      remaining: Math.max(0, Math.floor(remaining)),
      resetMs,
      effectiveLimit,
      knownTotal: total,
    };
  }

  /** The CRDT state: one G-counter per key for its current window. */
  state(): CrdtRateLimiterState {
    const keys: Record<string, GCounterWindow> = {};
    for (const [key, entry] of this.#entries) {
      keys[key] = { window: entry.window, counts: Object.fromEntries(entry.counts) };
    }
    return { nodeId: this.nodeId, windowMs: this.windowMs, keys };
  }

  /**
   * Merges another node's state (G-counter join: per node, the larger count; a newer window
   * replaces an older one). Idempotent, commutative and associative.
   */
  merge(remote: CrdtRateLimiterState): void {
    if (!remote || typeof remote !== 'object' || typeof remote.keys !== 'object' || remote.keys === null) {
      throw new GossiplessError('INVALID_INPUT', 'merge() needs a state as returned by state()');
    }
    if (remote.windowMs !== this.windowMs) {
      throw new GossiplessError(
        'INVALID_INPUT',
        `merge() got a state with windowMs ${String(remote.windowMs)}; this limiter uses ${this.windowMs}`,
      );
    }
    for (const [key, incoming] of Object.entries(remote.keys)) {
      if (!incoming || !Number.isInteger(incoming.window)) continue;
      const entry = this.#entry(key, incoming.window);
      if (entry.window !== incoming.window) continue;
      for (const [nodeId, count] of Object.entries(incoming.counts ?? {})) {
        if (typeof count === 'number' && count > (entry.counts.get(nodeId) ?? 0))
          entry.counts.set(nodeId, count);
      }
    }
  }

  /** The key's entry, replaced by an empty one when `window` is newer (an older window is kept). */
  #entry(key: string, window: number): Entry {
    this.#sweep(window);
    let entry = this.#entries.get(key);
    if (!entry || entry.window < window) {
      entry = { window, counts: new Map(), synced: 0, key };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** Drops keys of past windows once per window, so memory follows the active keys. */
  #sweep(window: number): void {
    if (window <= this.#sweepWindow) return;
    this.#sweepWindow = window;
    for (const [key, entry] of this.#entries) if (entry.window < window - 1) this.#entries.delete(key);
  }

  #scheduleSync(): void {
    this.#syncTimer = setTimeout(() => {
      this.#syncing = this.#syncOnce()
        .catch((error: unknown) => this.#report(error))
        .finally(() => {
          this.#syncing = undefined;
          if (!this.#stopped) this.#scheduleSync();
        });
    }, this.syncIntervalMs);
    this.#syncTimer.unref?.();
  }

  /**
   * Table mode: write own counts that changed (one row per node, key and window), then read every
   * node's rows of this window, so a node also learns keys it has not seen yet.
   */
  async #syncOnce(): Promise<void> {
    const counters = (this.#counters ??= new WindowedCounterTable({
      storage: this.cluster.storage,
      tableName: this.cluster.bus.tableName,
      scope: this.cluster.name,
      nodeId: this.nodeId,
      serverTime: this.cluster.serverTime,
      callTimeoutMs: Math.max(1000, this.syncIntervalMs * 2),
    }));
    const window = Math.floor(this.cluster.bus.serverNow() / this.windowMs);
    const dirty = [...this.#entries.values()].filter(
      (e) => e.window === window && (e.counts.get(this.nodeId) ?? 0) !== e.synced,
    );
    await counters.writeOwn(
      window,
      dirty.map((e) => ({ key: e.key, count: e.counts.get(this.nodeId) ?? 0 })),
    );
    for (const entry of dirty) entry.synced = entry.counts.get(this.nodeId) ?? 0;
    let keys = 0;
    for (const row of await counters.readWindow(window)) {
      if (row.nodeId === this.nodeId) continue;
      const entry = this.#entry(row.key, window);
      if (entry.window !== window) continue;
      if (row.count > (entry.counts.get(row.nodeId) ?? 0)) entry.counts.set(row.nodeId, row.count);
      keys++;
    }
    await counters.deleteOwnBefore(window - 1);
    this.emit('sync', { keys, window });
  }

  #report(error: unknown): void {
    const wrapped = isGossiplessError(error)
      ? error
      : new GossiplessError('STORAGE_ERROR', `rate limiter sync failed: ${redact(String(error))}`, {
          cause: error,
        });
    this.emit('error', { error: wrapped });
  }
}
