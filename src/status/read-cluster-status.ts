import { serverTimeFromDateHeader } from '../clock/index.js';
import { parseBusRow, timeOfRowKey } from '../bus/index.js';
import { LEADER_CHANNEL, TRANSACTIONS_PER_HOUR_PROPERTY } from '../cluster/index.js';
import { GossiplessError } from '../errors/index.js';
import { readLeaderInfo, type LeaderInfo } from '../lease/index.js';
import { MEMBERSHIP_DEFAULTS, parseMemberRow, suspectAfterMs } from '../membership/index.js';
import {
  busTableName,
  channelOfDeadLetterPartition,
  channelOfPartition,
  channelPartition,
  channelPartitionsFilter,
  claimPartition,
  deadLetterPartitionsFilter,
  memberPartition,
  partitionEquals,
} from '../table-layout/index.js';
import { deadlineSignal, isNotFound, storageFailure, type StorageConnection } from '../storage/index.js';
import { healthyRenewalAgeMs, renewalWarning } from './renewal-warning.js';

/** Options of {@link readClusterStatus}. */
export interface ReadClusterStatusOptions {
  cluster: string;
  /** @default 'gossipless' */
  container?: string;
  /** @default 'gossipless' */
  tablePrefix?: string;
  /** Liveness threshold, as the nodes use it. @default 45000 (MEMBERSHIP_DEFAULTS) */
  memberTtlMs?: number;
  /** The nodes' heartbeat interval: a member two heartbeats late is suspect. @default unknown: two thirds of the TTL */
  heartbeatIntervalMs?: number;
  /** Heartbeat lateness that makes a member suspect. @default `suspectAfterMs({ heartbeatIntervalMs, memberTtlMs })` (30000 at the defaults) */
  suspectAfterMs?: number;
  /** The nodes' lease duration, to judge the time since the last renewal. @default 15000 */
  leaseDurationMs?: number;
  /** The nodes' renew period, to judge the time since the last renewal. @default the lease elector's (L / 2) */
  renewIntervalMs?: number;
  /** How many leader changes to show. @default 10 */
  recentLeaderChanges?: number;
  abortSignal?: AbortSignal;
}

/** One member row as status shows it. */
export interface MemberStatus {
  nodeId: string;
  /** alive / suspect (heartbeat late) / dead (past the TTL, row not yet collected). */
  state: 'alive' | 'suspect' | 'dead';
  ageMs: number;
  startedAt: string;
  metadata: Record<string, unknown>;
  /** True for the lease holder. */
  isLeader: boolean;
  /**
   * Storage transactions per hour this node counted since it started, as its last heartbeat wrote
   * it (see `Cluster.transactions()`); undefined for nodes that do not write it.
   */
  transactionsPerHour?: number;
}

/** A bus channel's backlog (messages kept, within retention). */
export interface ChannelStatus {
  channel: string;
  backlog: number;
  /** Age of the oldest message by the server clock. */
  oldestAgeMs: number;
}

/** Messages a channel's consumers gave up on (parked after their last delivery attempt). */
export interface DeadLetterStatus {
  channel: string;
  /** Dead-letter rows kept (one per message and consumer that gave up on it). */
  count: number;
  /** Age of the oldest parked message, by its publish time on the server clock. */
  oldestAgeMs: number;
}

/** A leadership announcement from the bus. */
export interface LeaderChange {
  type: 'elected' | 'released';
  holder: string;
  epoch: number;
  /** Server time of the announcement, ISO 8601. */
  at: string;
}

/** Everything `gossipless status` shows. */
export interface ClusterStatus {
  cluster: string;
  /** The storage server's clock at the read, ISO 8601. */
  serverTime: string;
  leader: LeaderInfo & {
    /** Time since the leader last renewed its lease (from its member row), if known. */
    lastRenewalAgoMs: number | undefined;
  };
  members: MemberStatus[];
  channels: ChannelStatus[];
  /** Dead letters per channel (see docs/bus.md); empty when no consumer gave up on a message. */
  deadLetters: DeadLetterStatus[];
  leaderChanges: LeaderChange[];
  /**
   * Highest epoch held by the cluster's singleton tick claims (0 when none). Above the lease
   * blob's epoch means the leader's claims are fenced until it moves its epoch above it.
   */
  highestClaimedEpoch: number;
  /** Readings that need a person's attention, in words. */
  warnings: string[];
  /** True when a lease is held and its holder is a live member. */
  healthy: boolean;
}

/**
 * Reads a cluster's state from storage without joining it: the lease blob, the member rows (liveness
 * judged by the server's `Date` header), bus backlogs and recent leader changes. Read access only.
 */
export async function readClusterStatus(
  storage: StorageConnection,
  options: ReadClusterStatusOptions,
): Promise<ClusterStatus> {
  const { cluster } = options;
  // One failed read ends the others: a sibling still waiting on a silent endpoint would hold its
  // socket and deadline timer open, and a CLI run would not exit until they gave up (issue #17).
  const reads = new AbortController();
  const abortSignal = options.abortSignal
    ? AbortSignal.any([options.abortSignal, reads.signal])
    : reads.signal;
  const container = options.container ?? 'gossipless';
  const table = storage.tableClient(busTableName(options.tablePrefix));
  const memberTtlMs = options.memberTtlMs ?? MEMBERSHIP_DEFAULTS.memberTtlMs;
  const suspectAfter =
    options.suspectAfterMs ??
    suspectAfterMs({ heartbeatIntervalMs: options.heartbeatIntervalMs, memberTtlMs: options.memberTtlMs });
  const healthyRenewalMs = healthyRenewalAgeMs(options, storage);
  // Each list keeps the Date header of its own responses: liveness is judged against the member
  // list's, as the nodes do.
  const list = async (
    filter: string,
    select?: string[],
  ): Promise<{ rows: Array<Record<string, unknown>>; date: string | undefined }> => {
    const rows: Array<Record<string, unknown>> = [];
    let date: string | undefined;
    try {
      for await (const row of table.listEntities<Record<string, unknown>>({
        queryOptions: { filter, ...(select ? { select } : {}) },
        abortSignal: deadlineSignal(30_000, abortSignal),
        onResponse: (r) => (date = r.headers.get('date') ?? date),
      })) {
        rows.push(row);
      }
    } catch (error) {
      // No table yet: no node has started. That is a reading, not a failure.
      if (!isNotFound(error)) throw error;
    }
    return { rows, date };
  };
  // Independent reads: one round trip's wait instead of six (it matters under --watch).
  const [leader, memberList, channelList, leaderList, deadLetterList, claimList] = await Promise.all([
    readLeaderInfo(storage, { container, cluster }, { abortSignal }),
    list(partitionEquals(memberPartition(cluster))),
    list(channelPartitionsFilter(cluster), ['PartitionKey', 'RowKey']),
    list(partitionEquals(channelPartition(cluster, LEADER_CHANNEL))),
    list(deadLetterPartitionsFilter(cluster), ['PartitionKey', 'RowKey']),
    list(partitionEquals(claimPartition(cluster)), ['RowKey', 'epoch']),
  ]).catch((error: unknown) => {
    reads.abort();
    const what = `reading the status of cluster ${cluster} from ${storage.description}`;
    if (isAbortError(error) && !options.abortSignal?.aborted) {
      throw new GossiplessError(
        'STORAGE_UNAVAILABLE',
        `${what}: storage did not answer before the deadline (5 s for the lease blob, 30 s per list); check the endpoint, the network path and firewall rules`,
        { cause: error },
      );
    }
    throw storageFailure(what, error);
  });
  let highestClaimedEpoch = 0;
  for (const row of claimList.rows) {
    const epoch = row['epoch'];
    if (typeof epoch === 'number' && Number.isSafeInteger(epoch))
      highestClaimedEpoch = Math.max(highestClaimedEpoch, epoch);
  }
  const memberRows = memberList.rows;
  const channelRows = channelList.rows;
  const leaderRows = leaderList.rows;
  const serverNow =
    serverTimeFromDateHeader(memberList.date ?? channelList.date ?? leaderList.date) ??
    leader.lastModified?.getTime();
  if (serverNow === undefined) {
    throw new GossiplessError(
      'STORAGE_ERROR',
      'storage responses carried no Date header; cannot judge liveness',
    );
  }

  let lastRenewalAgoMs: number | undefined;
  let leaderHeartbeatAgeMs = 0;
  const members: MemberStatus[] = [];
  for (const row of memberRows) {
    const member = parseMemberRow(row, serverNow, suspectAfter);
    if (!member) continue;
    const isLeader = leader.isHeld && member.nodeId === leader.holder;
    if (isLeader && typeof row['leaseRenewedAt'] === 'number') {
      lastRenewalAgoMs = Math.max(0, serverNow - row['leaseRenewedAt']);
      leaderHeartbeatAgeMs = member.ageMs;
    }
    const counted = row[TRANSACTIONS_PER_HOUR_PROPERTY];
    members.push({
      nodeId: member.nodeId,
      state: member.ageMs >= memberTtlMs ? 'dead' : member.state,
      ageMs: member.ageMs,
      startedAt: member.startedAt,
      metadata: member.metadata,
      isLeader,
      ...(typeof counted === 'number' && Number.isFinite(counted) ? { transactionsPerHour: counted } : {}),
    });
  }
  members.sort((a, b) => Number(b.isLeader) - Number(a.isLeader) || a.nodeId.localeCompare(b.nodeId));

  const byChannel = new Map<string, ChannelStatus>();
  for (const row of channelRows) {
    const channel = channelOfPartition(cluster, String(row['partitionKey'])) ?? '';
    const time = timeOfRowKey(String(row['rowKey'])) ?? serverNow;
    const entry = byChannel.get(channel) ?? { channel, backlog: 0, oldestAgeMs: 0 };
    entry.backlog++;
    entry.oldestAgeMs = Math.max(entry.oldestAgeMs, serverNow - time);
    byChannel.set(channel, entry);
  }

  const deadLetters = new Map<string, DeadLetterStatus>();
  for (const row of deadLetterList.rows) {
    const channel = channelOfDeadLetterPartition(cluster, String(row['partitionKey']));
    if (channel === undefined) continue;
    const time = timeOfRowKey(String(row['rowKey'])) ?? serverNow;
    const entry = deadLetters.get(channel) ?? { channel, count: 0, oldestAgeMs: 0 };
    entry.count++;
    entry.oldestAgeMs = Math.max(entry.oldestAgeMs, serverNow - time);
    deadLetters.set(channel, entry);
  }

  const leaderChanges: LeaderChange[] = [];
  for (const row of leaderRows) {
    const parsed = parseBusRow(row);
    if (!('message' in parsed)) continue;
    const p = parsed.message.payload as Partial<LeaderChange> | null;
    if (
      p &&
      (p.type === 'elected' || p.type === 'released') &&
      typeof p.holder === 'string' &&
      typeof p.epoch === 'number'
    ) {
      leaderChanges.push({
        type: p.type,
        holder: p.holder,
        epoch: p.epoch,
        at: new Date(parsed.message.publishedAt).toISOString(),
      });
    }
  }
  leaderChanges.sort((a, b) => b.at.localeCompare(a.at));
  leaderChanges.splice(options.recentLeaderChanges ?? 10);

  const warnings: string[] = [];
  const live = members.filter((m) => m.state !== 'dead');
  const holderRow = members.find((m) => m.nodeId === leader.holder);
  if (!leader.isHeld) {
    warnings.push(
      leader.leaseState === 'missing'
        ? 'no lease blob: no node of this cluster has started (check the cluster name and container)'
        : 'no node holds the lease: nobody is leader right now (a handover, or no node can reach storage)',
    );
  } else if (!holderRow || holderRow.state === 'dead') {
    warnings.push(
      `the lease holder ${leader.holder ?? '?'} has no live member row: it may be partitioned from the table; it steps down within the lease duration if it cannot renew`,
    );
  }
  if (live.length === 0) warnings.push('no live members');
  const renewal =
    lastRenewalAgoMs === undefined
      ? undefined
      : renewalWarning(lastRenewalAgoMs, leaderHeartbeatAgeMs, healthyRenewalMs);
  if (renewal) warnings.push(renewal);
  if (leader.leaseState !== 'missing' && leader.epoch < highestClaimedEpoch) {
    warnings.push(
      `singleton jobs fenced: the lease blob's epoch ${leader.epoch} is below epoch ${highestClaimedEpoch} already used by tick claims ` +
        `(lease blob recreated, metadata edited or account failover); the leader steps down and takes an epoch above it; if this persists, no node can take the lease`,
    );
  }
  for (const d of deadLetters.values()) {
    warnings.push(
      `${d.count} dead-lettered message(s) on channel ${d.channel}: a handler kept failing (rows in partition d:${cluster}:${d.channel}, see docs/bus.md)`,
    );
  }
  const dead = members.filter((m) => m.state === 'dead').length;
  if (dead > 0)
    warnings.push(`${dead} dead member row(s) not yet collected (the leader deletes them after gcAfterMs)`);

  return {
    cluster,
    serverTime: new Date(serverNow).toISOString(),
    leader: { ...leader, lastRenewalAgoMs },
    members,
    channels: [...byChannel.values()].sort((a, b) => a.channel.localeCompare(b.channel)),
    deadLetters: [...deadLetters.values()].sort((a, b) => a.channel.localeCompare(b.channel)),
    leaderChanges,
    highestClaimedEpoch,
    warnings,
    healthy: leader.isHeld && holderRow !== undefined && holderRow.state !== 'dead',
  };
}

/** An SDK call ended by its abort signal (here: a deadline, unless the caller aborted). */
function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
