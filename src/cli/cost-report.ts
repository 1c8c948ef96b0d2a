import pc from 'picocolors';
import type {
  ClusterStatus,
  CostEstimate,
  CostTimings,
  NodeHourTransactions,
  StorageTransactionKind,
  TransactionPrices,
} from '@gossipless/runtime';
import { indent, textTable } from './format.js';

/** One member's own count, next to what the model says for its role. */
export interface MemberCostReading {
  nodeId: string;
  role: 'leader' | 'follower';
  /** Transactions per hour the node counted since it started (from its heartbeat row). */
  countedPerHour: number | undefined;
  modelPerHour: number;
}

/** What `gossipless status --cost` prints (and `--json` carries as `cost`). */
export interface CostReport {
  label: 'estimate';
  /** Where the per-replica table comes from: always the model; `live` adds the members' own counts. */
  source: 'model' | 'model+live';
  /** Why no member counts are shown (no cluster given, storage not configured, read failed). */
  liveUnavailable?: string;
  timings: CostEstimate['timings'];
  /**
   * One node's hour in a cluster of `nodes` (the live members when a cluster was read, else 3): the
   * leader's depends on the size (its list of the members takes a request per 1,000).
   */
  perNodeHour: { nodes: number; leader: NodeHourTransactions; follower: NodeHourTransactions };
  replicas: Array<{
    nodes: number;
    perHour: number;
    /** One node's transactions per hour at this size. */
    leaderPerHour: number;
    followerPerHour: number;
    byKindPerHour: Record<StorageTransactionKind, number>;
    monthlyUsd: number;
  }>;
  members: MemberCostReading[];
  prices: TransactionPrices;
}

/**
 * Builds the cost report: the model's table for each replica count and, when a live status was
 * read, each member's counted rate beside the model's figure for its role.
 */
export function buildCostReport(
  estimate: (nodes: number, timings: CostTimings, prices: TransactionPrices) => CostEstimate,
  replicaCounts: readonly number[],
  timings: CostTimings,
  prices: TransactionPrices,
  live: { status: ClusterStatus } | { unavailable: string },
): CostReport {
  const estimates = replicaCounts.map((n) => estimate(n, timings, prices));
  const liveNodes =
    'status' in live ? Math.max(1, live.status.members.filter((m) => m.state !== 'dead').length) : 3;
  const here = estimate(liveNodes, timings, prices);
  const members: MemberCostReading[] =
    'status' in live
      ? live.status.members
          .filter((m) => m.state !== 'dead')
          .map((m) => ({
            nodeId: m.nodeId,
            role: m.isLeader ? ('leader' as const) : ('follower' as const),
            countedPerHour: m.transactionsPerHour,
            modelPerHour: (m.isLeader ? here.leader : here.follower).total,
          }))
      : [];
  return {
    label: 'estimate',
    source: 'status' in live ? 'model+live' : 'model',
    ...('unavailable' in live ? { liveUnavailable: live.unavailable } : {}),
    timings: here.timings,
    perNodeHour: { nodes: liveNodes, leader: here.leader, follower: here.follower },
    replicas: estimates.map((e) => ({
      nodes: e.nodes,
      perHour: e.clusterPerHour,
      leaderPerHour: e.leader.total,
      followerPerHour: e.follower.total,
      byKindPerHour: e.clusterByKindPerHour,
      monthlyUsd: e.monthlyUsd,
    })),
    members,
    prices,
  };
}

const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number): string => `${ms / 1000} s`;

/** The report as text. */
export function renderCostReport(report: CostReport, color: boolean): string {
  const c = color ? pc : pc.createColors(false);
  const t = report.timings;
  const out: string[] = [];
  out.push(
    `${c.bold('cost')} ${c.yellow('(estimate)')} from the model at ${
      'lease ' + seconds(t.leaseDurationMs)
    }, renew (and followers' look) every ${seconds(t.renewIntervalMs)}, heartbeat ${seconds(
      t.heartbeatIntervalMs,
    )}, bus poll ${seconds(t.pollIntervalMs)} (idle ${seconds(t.idlePollIntervalMs)})` +
      (t.singletonTicksPerHour ? `, ${t.singletonTicksPerHour} singleton ticks/h` : '') +
      (t.publishBatchesPerHour ? `, ${t.publishBatchesPerHour} publish batches/h per node` : ''),
  );
  const { leader, follower } = report.perNodeHour;
  const kinds = (Object.keys(leader.byKind) as StorageTransactionKind[]).filter(
    (k) => leader.byKind[k] > 0 || follower.byKind[k] > 0,
  );
  out.push(`  transactions per node-hour in a cluster of ${report.perNodeHour.nodes}, by kind:`);
  out.push(
    indent(
      textTable(
        ['KIND', 'LEADER/h', 'FOLLOWER/h'],
        [
          ...kinds.map((k) => [k, thousands(leader.byKind[k]), thousands(follower.byKind[k])]),
          ['total', thousands(leader.total), thousands(follower.total)],
        ],
      ),
      4,
    ),
  );
  out.push('  whole cluster (one leader, the rest followers), at list prices:');
  out.push(
    indent(
      textTable(
        ['REPLICAS', 'TRANSACTIONS/h', 'LEADER/h', 'FOLLOWER/h', ...kinds.map((k) => `${k}/h`), 'USD/MONTH'],
        report.replicas.map((r) => [
          String(r.nodes),
          thousands(r.perHour),
          thousands(r.leaderPerHour),
          thousands(r.followerPerHour),
          ...kinds.map((k) => thousands(r.byKindPerHour[k])),
          `$${r.monthlyUsd.toFixed(2)}`,
        ]),
      ),
      4,
    ),
  );
  if (report.members.length > 0) {
    out.push('  counted by each member since it started (from its heartbeat row), beside the model:');
    out.push(
      indent(
        textTable(
          ['NODE', 'ROLE', 'COUNTED/h', 'MODEL/h'],
          report.members.map((m) => [
            m.nodeId,
            m.role,
            m.countedPerHour === undefined ? '– (not reported)' : thousands(m.countedPerHour),
            thousands(m.modelPerHour),
          ]),
        ),
        4,
      ),
    );
  } else {
    out.push(`  ${c.yellow('the table is the model’s')}: ${report.liveUnavailable ?? 'no live members'}`);
  }
  out.push(`  prices: ${report.prices.source}`);
  return out.join('\n') + '\n';
}
