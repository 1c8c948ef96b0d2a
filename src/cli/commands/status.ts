import { Command } from '@commander-js/extra-typings';
import type { CommandContext } from '../command-context.js';
import { parsePositiveInt } from '../parse-options.js';
import { readFile } from 'node:fs/promises';
import pc from 'picocolors';
import type { ClusterStatus, CostTimings, TransactionPrices } from '@gossipless/runtime';
import { GossiplessError } from '@gossipless/runtime/errors';
import { formatDuration, indent, textTable } from '../format.js';
import { ExitCode, type CliIo } from '../io.js';
import type { StorageCliOptions } from '../storage-options.js';
import { buildCostReport, renderCostReport, type CostReport } from '../cost-report.js';

/** `gossipless status`: its options and help; the work is in {@link run}. */
export function statusCommand(context: CommandContext) {
  return new Command('status')
    .description(
      "show the cluster's mind: lease holder, epoch, time since the last renewal; members with liveness\n" +
        'judged by the storage server clock; bus backlogs; recent leader changes.\n' +
        'Storage: AZURE_STORAGE_CONNECTION_STRING, or --account-name (DefaultAzureCredential), or\n' +
        '--blob-endpoint/--table-endpoint with AZURE_STORAGE_SAS. Exit 0 healthy, 1 no live leader, 2 error.\n' +
        'With --cost: storage transactions per hour by kind and dollars per month for --replicas, from the\n' +
        "model at the runtime's default timings, beside each live member's own count (no cluster needed).",
    )
    .option('-c, --cluster <name>', 'cluster name (default: $GOSSIPLESS_CLUSTER)')
    .option('--container <name>', 'lease blob container', 'gossipless')
    .option('--table-prefix <prefix>', 'table prefix (the table is <prefix>bus)', 'gossipless')
    .option('--account-name <name>', 'storage account, signed in with DefaultAzureCredential')
    .option('--blob-endpoint <url>', 'blob endpoint (with --table-endpoint; SAS from AZURE_STORAGE_SAS)')
    .option('--table-endpoint <url>', 'table endpoint (with --blob-endpoint)')
    .option('--json', 'print one JSON document')
    .option('-w, --watch [ms]', 'refresh every ms (default 2000) until Ctrl-C')
    .option('--cost', 'add storage transactions per hour by kind and a monthly estimate')
    .option(
      '--replicas <list>',
      'for --cost: replica counts to price, comma-separated (default 3,10,50,200,1000)',
    )
    .option('--ticks-per-hour <n>', 'for --cost: singleton ticks per hour, all jobs together (default 0)')
    .option('--publishes-per-hour <n>', 'for --cost: bus publish batches per node-hour (default 0)')
    .option(
      '--member-ttl-ms <ms>',
      "the nodes' memberTtlMs, to judge liveness (default 45000)",
      parsePositiveInt,
    )
    .option(
      '--lease-ms <ms>',
      "the nodes' leaseDurationMs, to judge renewal age (default 15000)",
      parsePositiveInt,
    )
    .option('--nodes <n>', 'for --cost: one replica count (same as --replicas <n>)')
    .option(
      '--renew-ms <ms>',
      "the nodes' renewIntervalMs, to judge renewal age and for --cost (default: the runtime's)",
      parsePositiveInt,
    )
    .option(
      '--retry-ms <ms>',
      "for --cost: the nodes' retryIntervalMs (default: the runtime's)",
      parsePositiveInt,
    )
    .option(
      '--heartbeat-ms <ms>',
      "for --cost: the nodes' heartbeatIntervalMs (default: the runtime's)",
      parsePositiveInt,
    )
    .option(
      '--poll-ms <ms>',
      "for --cost: the nodes' bus pollIntervalMs (default: the runtime's)",
      parsePositiveInt,
    )
    .option(
      '--idle-poll-ms <ms>',
      "for --cost: the nodes' bus idlePollIntervalMs, an idle node's poll pause (default: the runtime's)",
      parsePositiveInt,
    )
    .option('--prices <file>', 'JSON with tablePer10k, blobWritePer10k, blobReadPer10k (USD), source')
    .action(async (options) => context.setExitCode(await run(options, context.io)));
}

/** Options of `gossipless status`. */
export interface StatusCommandOptions extends StorageCliOptions {
  cluster?: string;
  container?: string;
  tablePrefix?: string;
  json?: boolean;
  watch?: boolean | string;
  cost?: boolean;
  nodes?: string;
  replicas?: string;
  ticksPerHour?: string;
  publishesPerHour?: string;
  prices?: string;
  memberTtlMs?: number;
  leaseMs?: number;
  renewMs?: number;
  retryMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
  idlePollMs?: number;
}

/**
 * Prints the cluster's state; exit 0 healthy, 1 unhealthy (no leader, or leader not a live member).
 * With `--cost` and no cluster (or no storage), prints the model's cost table alone and exits 0.
 */
export async function run(options: StatusCommandOptions, io: CliIo): Promise<number> {
  // The runtime brings the Azure SDK: loaded when status runs, not when the CLI starts.
  const { sleep, DEFAULT_PRICES, DEFAULT_REPLICA_COUNTS, estimateCost, readClusterStatus } =
    await import('@gossipless/runtime');
  const { storageFromCli } = await import('../storage-options.js');
  const cluster = options.cluster ?? io.env.GOSSIPLESS_CLUSTER;
  const prices = options.prices ? await loadPrices(options.prices) : DEFAULT_PRICES;
  const replicas = options.cost
    ? parseReplicas(options.replicas ?? options.nodes, DEFAULT_REPLICA_COUNTS)
    : [];
  const timings: CostTimings = {
    renewIntervalMs: options.renewMs,
    retryIntervalMs: options.retryMs,
    heartbeatIntervalMs: options.heartbeatMs,
    pollIntervalMs: options.pollMs,
    idlePollIntervalMs: options.idlePollMs,
    ...(options.leaseMs ? { leaseDurationMs: options.leaseMs } : {}),
    singletonTicksPerHour: parseRate('--ticks-per-hour', options.ticksPerHour),
    publishBatchesPerHour: parseRate('--publishes-per-hour', options.publishesPerHour),
  };
  const costReport = (live: { status: ClusterStatus } | { unavailable: string }): CostReport =>
    buildCostReport(estimateCost, replicas, timings, prices, live);

  if (!cluster) {
    if (options.cost) {
      return printModelOnly(
        costReport({ unavailable: 'no --cluster given (or GOSSIPLESS_CLUSTER)' }),
        options,
        io,
      );
    }
    throw new GossiplessError(
      'INVALID_OPTIONS',
      'which cluster? pass --cluster <name> or set GOSSIPLESS_CLUSTER',
    );
  }
  let storage;
  try {
    storage = storageFromCli(options, io.env);
  } catch (error) {
    if (!options.cost || !(error instanceof GossiplessError) || error.code !== 'STORAGE_NOT_CONFIGURED')
      throw error;
    return printModelOnly(
      costReport({ unavailable: 'no storage configured to read live members from' }),
      options,
      io,
    );
  }
  const read = () =>
    readClusterStatus(storage, {
      cluster,
      container: options.container,
      tablePrefix: options.tablePrefix,
      memberTtlMs: options.memberTtlMs,
      heartbeatIntervalMs: options.heartbeatMs,
      leaseDurationMs: options.leaseMs,
      renewIntervalMs: options.renewMs,
      abortSignal: io.signal,
    });
  const costFor = (status: ClusterStatus): CostReport | undefined =>
    options.cost ? costReport({ status }) : undefined;

  if (options.watch) {
    const everyMs = typeof options.watch === 'string' ? Number(options.watch) : 2000;
    if (!Number.isFinite(everyMs) || everyMs < 250) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `--watch interval must be at least 250 ms, got "${String(options.watch)}"`,
      );
    }
    while (!io.signal.aborted) {
      const status = await read();
      const text = options.json
        ? JSON.stringify({ ...status, cost: costFor(status) }) + '\n'
        : render(status, costFor(status), io.color);
      // In place on a terminal; a plain sequence of snapshots when piped.
      io.stdout(io.isTTY && !options.json ? `\x1b[H\x1b[2J${text}` : text);
      await sleep(everyMs, io.signal);
    }
    return ExitCode.Ok;
  }

  let status: ClusterStatus;
  try {
    status = await read();
  } catch (error) {
    // The cost table needs no cluster: say why the members' counts are missing and print the model.
    if (!options.cost || !(error instanceof GossiplessError) || io.signal.aborted) throw error;
    return printModelOnly(
      costReport({ unavailable: `could not read cluster ${cluster}: ${error.message}` }),
      options,
      io,
    );
  }
  const cost = costFor(status);
  io.stdout(
    options.json ? JSON.stringify({ ...status, cost }, null, 2) + '\n' : render(status, cost, io.color),
  );
  return status.healthy ? ExitCode.Ok : ExitCode.Findings;
}

function printModelOnly(report: CostReport, options: StatusCommandOptions, io: CliIo): number {
  io.stdout(
    options.json ? JSON.stringify({ cost: report }, null, 2) + '\n' : renderCostReport(report, io.color),
  );
  return ExitCode.Ok;
}

function parseReplicas(value: string | undefined, defaults: readonly number[]): number[] {
  if (value === undefined) return [...defaults];
  const counts = value.split(',').map((part) => Number(part.trim()));
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `--replicas must be positive whole numbers separated by commas (e.g. 3,10,50), got "${value}"`,
    );
  }
  return counts;
}

function parseRate(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new GossiplessError('INVALID_OPTIONS', `${flag} must be a number ≥ 0, got "${value}"`);
  }
  return n;
}

async function loadPrices(file: string): Promise<TransactionPrices> {
  let parsed: Partial<TransactionPrices>;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<TransactionPrices>;
  } catch (error) {
    throw new GossiplessError(
      'INVALID_INPUT',
      `--prices ${file}: not a readable JSON file (${(error as Error).message})`,
    );
  }
  for (const key of ['tablePer10k', 'blobWritePer10k', 'blobReadPer10k'] as const) {
    if (typeof parsed[key] !== 'number' || parsed[key] < 0) {
      throw new GossiplessError(
        'INVALID_INPUT',
        `--prices ${file}: "${key}" must be a non-negative number (USD per 10,000 transactions)`,
      );
    }
  }
  if (
    parsed.blobOtherPer10k !== undefined &&
    (typeof parsed.blobOtherPer10k !== 'number' || parsed.blobOtherPer10k < 0)
  ) {
    throw new GossiplessError(
      'INVALID_INPUT',
      `--prices ${file}: "blobOtherPer10k" must be a non-negative number (USD per 10,000 transactions) or left out`,
    );
  }
  return { ...(parsed as TransactionPrices), source: parsed.source ?? `prices from ${file}` };
}

function render(status: ClusterStatus, cost: CostReport | undefined, color: boolean): string {
  const c = color ? pc : pc.createColors(false);
  const out: string[] = [];
  const { leader } = status;
  out.push(`${c.bold(`cluster ${status.cluster}`)}  (server time ${status.serverTime})`);
  out.push('');
  if (leader.isHeld) {
    out.push(
      `${c.bold('leader')}   ${c.green(leader.holder ?? '?')}  epoch ${leader.epoch}  lease ${leader.leaseState}` +
        `  last renewal ${formatDuration(leader.lastRenewalAgoMs)} ago  since ${leader.since ?? '–'}`,
    );
  } else {
    out.push(
      `${c.bold('leader')}   ${c.red('none')}  lease ${leader.leaseState}  (last holder ${leader.holder ?? '–'}, epoch ${leader.epoch})`,
    );
  }
  out.push('');
  const alive = status.members.filter((m) => m.state === 'alive').length;
  const suspect = status.members.filter((m) => m.state === 'suspect').length;
  const dead = status.members.filter((m) => m.state === 'dead').length;
  out.push(
    `${c.bold('members')}  ${alive} alive, ${suspect} suspect, ${dead} dead  (liveness by the server clock)`,
  );
  if (status.members.length > 0) {
    out.push(
      indent(
        textTable(
          ['NODE', 'STATE', 'HEARTBEAT AGE', 'STARTED', 'METADATA'],
          status.members.map((m) => [
            `${m.nodeId}${m.isLeader ? ' *' : ''}`,
            m.state === 'alive'
              ? c.green(m.state)
              : m.state === 'suspect'
                ? c.yellow(m.state)
                : c.red(m.state),
            formatDuration(m.ageMs),
            m.startedAt || '–',
            JSON.stringify(m.metadata),
          ]),
        ),
      ),
    );
  }
  out.push('');
  out.push(`${c.bold('channels')}`);
  out.push(
    status.channels.length === 0
      ? '  (no messages kept)'
      : indent(
          textTable(
            ['CHANNEL', 'BACKLOG', 'OLDEST'],
            status.channels.map((ch) => [ch.channel, String(ch.backlog), formatDuration(ch.oldestAgeMs)]),
          ),
        ),
  );
  if (status.deadLetters.length > 0) {
    out.push('');
    out.push(`${c.bold('dead letters')}  (messages a consumer gave up on after its last delivery attempt)`);
    out.push(
      indent(
        textTable(
          ['CHANNEL', 'DEAD LETTERS', 'OLDEST'],
          status.deadLetters.map((d) => [d.channel, c.red(String(d.count)), formatDuration(d.oldestAgeMs)]),
        ),
      ),
    );
  }
  out.push('');
  out.push(`${c.bold('recent leader changes')}`);
  out.push(
    status.leaderChanges.length === 0
      ? '  (none within bus retention)'
      : indent(
          textTable(
            ['AT', 'EVENT', 'NODE', 'EPOCH'],
            status.leaderChanges.map((l) => [l.at, l.type, l.holder, String(l.epoch)]),
          ),
        ),
  );
  if (status.warnings.length > 0) {
    out.push('');
    for (const w of status.warnings) out.push(`${c.yellow('warning')}  ${w}`);
  }
  if (cost) {
    out.push('');
    out.push(renderCostReport(cost, color).trimEnd());
  }
  return out.join('\n') + '\n';
}
