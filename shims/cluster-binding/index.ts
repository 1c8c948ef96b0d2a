/**
 * What every shim shares: the `gossipless` options key, the cluster identity rule and the one
 * warning about transport options that have no meaning on a table. Shims import this folder; it
 * imports the core through its folder doors only.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
// Shims use only the runtime's public API, like any other user of it.
import {
  createCluster,
  GossiplessError,
  isGossiplessError,
  type Cluster,
  type ClusterOptions,
  type Logger,
  type StorageConnection,
  type StorageTarget,
} from '../../src/index.js';

/** Environment variable that overrides the cluster identity a shim derives from legacy options. */
export const CLUSTER_ENV = 'GOSSIPLESS_CLUSTER';

/**
 * The optional `gossipless` key every shim accepts in its legacy options bag. Everything is
 * optional: storage comes from `AZURE_STORAGE_CONNECTION_STRING` by default, the cluster name
 * from the legacy options (or `GOSSIPLESS_CLUSTER`).
 */
export interface GossiplessShimOptions {
  /** Cluster name; wins over `GOSSIPLESS_CLUSTER` and the name derived from legacy options. */
  cluster?: string;
  /** A connection or where to connect. @default connectStorage() (AZURE_STORAGE_CONNECTION_STRING) */
  storage?: StorageConnection | StorageTarget;
  /** @default host-pid-random */
  nodeId?: string;
  /** @default 'gossipless' */
  tablePrefix?: string;
  /** @default 'gossipless' */
  container?: string;
  /** Lease timings (see the core's `LeaseElectorOptions`). */
  lease?: ClusterOptions['lease'];
  /** Membership timings; shims derive them from legacy options unless set here. */
  membership?: ClusterOptions['membership'];
  /** Bus settings. */
  bus?: ClusterOptions['bus'];
  /** @default systemClock */
  clock?: ClusterOptions['clock'];
  /**
   * Where warnings and storage errors are logged. Without one, the ignored-options warning goes
   * through `process.emitWarning` (printed once by Node) so a migrated service still sees it.
   */
  logger?: Logger;
}

/**
 * The cluster name for a shim: the explicit option, else `GOSSIPLESS_CLUSTER`, else one derived
 * from what made nodes one cluster in the legacy library (`legacyIdentity`), when that is specific
 * to one service. A port alone is not: every service on the default port of one storage account
 * would become one cluster with one master, so without a derivable identity the shim refuses.
 *
 * `options.shim` names the shim in the error, `options.reason` says why no name can be derived.
 */
export function resolveClusterName(
  explicit: string | undefined,
  legacyIdentity: string | undefined,
  options: { shim?: string; env?: NodeJS.ProcessEnv; reason?: string } = {},
): string {
  const {
    shim = 'gossipless',
    env = process.env,
    reason = 'a name derived from the port alone would make every service on that port in the storage account one cluster',
  } = options;
  const fromEnv = env[CLUSTER_ENV];
  const name = explicit ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : legacyIdentity);
  if (name === undefined) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `${shim} shim: no cluster name. Set ${CLUSTER_ENV} (or options.gossipless.cluster) to a name for this service: ${reason}`,
    );
  }
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) {
    const source = explicit !== undefined ? 'options.gossipless.cluster' : fromEnv ? CLUSTER_ENV : 'derived';
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `cluster name "${name}" (from ${source}) must be 1–63 lowercase letters, digits or '-'; set ${CLUSTER_ENV} or options.gossipless.cluster`,
    );
  }
  return name;
}

/** A short, stable, non-reversible tag for a secret that took part in cluster identity (e.g. a key). */
export function identityTag(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 10);
}

const warned = new Set<string>();

/**
 * Warns once (per process and set of names) that transport-only options were accepted and
 * ignored: the table carries what multicast, broadcast or unicast used to.
 */
export function warnIgnoredOptions(
  shim: string,
  options: Record<string, unknown>,
  names: readonly string[],
  logger: Logger | undefined,
): string[] {
  const present = names.filter((name) => options[name] !== undefined && options[name] !== null);
  if (present.length === 0) return present;
  const message = `gossipless ${shim} shim: ignoring transport options ${present.join(', ')} — discovery rides the storage table, no sockets are opened`;
  if (logger) logger.warn(message);
  else {
    const key = `${shim}:${present.join(',')}`;
    if (!warned.has(key)) {
      warned.add(key);
      process.emitWarning(message, { code: 'GOSSIPLESS_IGNORED_OPTIONS' });
    }
  }
  return present;
}

/**
 * The idle bus poll of shims whose channels replace datagrams (node-discover, democracy): the core's
 * 15 s idle pause would let the first message after a quiet spell wait 15 s, and legacy code
 * does request/response over channels with timeouts of a few seconds (docs/shims.md, *Channel
 * latency*). At 1 s a channel is as fast when idle as before adaptive polling, and faster under
 * traffic (0.5 s); `gossipless.bus.idlePollIntervalMs` trades that for fewer reads (15 000: about
 * 240 polls an idle hour instead of 3 600).
 */
export const CHANNEL_SHIM_IDLE_POLL_MS = 1000;

/** Creates the core cluster node behind a shim from the `gossipless` key and the shim's defaults. */
export function bindCluster(
  gossipless: GossiplessShimOptions | undefined,
  defaults: {
    cluster: string;
    metadata: Record<string, unknown>;
    campaign: boolean;
    membership?: ClusterOptions['membership'];
    /** A server-time estimate to share (a shim's restarted incarnation keeps its predecessor's). */
    serverTime?: ClusterOptions['serverTime'];
    /** The shim's channels stand in for datagrams: poll at most {@link CHANNEL_SHIM_IDLE_POLL_MS} apart unless told otherwise. */
    channels?: boolean;
  },
): Cluster {
  const g = gossipless ?? {};
  const bus =
    defaults.channels && g.bus?.idlePollIntervalMs === undefined
      ? {
          ...g.bus,
          idlePollIntervalMs: Math.max(CHANNEL_SHIM_IDLE_POLL_MS, g.bus?.pollIntervalMs ?? 0),
        }
      : g.bus;
  return createCluster({
    cluster: defaults.cluster,
    storage: g.storage,
    nodeId: g.nodeId,
    metadata: defaults.metadata,
    tablePrefix: g.tablePrefix,
    container: g.container,
    campaign: defaults.campaign,
    lease: g.lease,
    membership: { ...defaults.membership, ...g.membership },
    bus,
    clock: g.clock,
    serverTime: defaults.serverTime,
    logger: g.logger,
  });
}

/**
 * Reports a storage error of a running shim: as an `error` event when the application listens
 * (the legacy libraries emit `error` too), otherwise to the logger, because an `error` event
 * nobody listens to would crash the process over a transient outage.
 */
export function reportShimError(
  emitter: { listenerCount(event: string): number; emit(event: string, ...args: unknown[]): boolean },
  error: unknown,
  logger: Logger | undefined,
): void {
  if (emitter.listenerCount('error') > 0) emitter.emit('error', error);
  else logger?.warn(isGossiplessError(error) ? error.message : String(error));
}
