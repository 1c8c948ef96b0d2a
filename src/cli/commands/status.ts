import { Command } from '@commander-js/extra-typings';
import type { CommandContext } from '../command-context.js';
import { parsePositiveInt } from '../parse-options.js';
import { readFile } from 'node:fs/promises';
import pc from 'picocolors';
import type { ClusterStatus, CostEstimate, TransactionPrices } from '@gossipless/runtime';
import { GossiplessError } from '@gossipless/runtime/errors';
import { formatDuration, textTable } from '../format.js';
import { ExitCode, type CliIo } from '../io.js';
import type { StorageCliOptions } from '../storage-options.js';

/** `gossipless status`: its options and help; the work is in {@link run}. */
export function statusCommand(context: CommandContext) {
  return new Command('status')
    .description(
      "show the cluster's mind: lease holder, epoch, time since the last renewal; members with liveness\n" +
        'judged by the storage server clock; bus backlogs; recent leader changes.\n' +
        'Storage: AZURE_STORAGE_CONNECTION_STRING, or --account-name (DefaultAzureCredential), or\n' +
        '--blob-endpoint/--table-endpoint with AZURE_STORAGE_SAS. Exit 0 healthy, 1 no live leader, 2 error.',
    )
    .option('-c, --cluster <name>', 'cluster name (default: $GOSSIPLESS_CLUSTER)')
    .option('--container <name>', 'lease blob container', 'gossipless')
    .option('--table-prefix <prefix>', 'table prefix (the table is <prefix>bus)', 'gossipless')
    .option('--account-name <name>', 'storage account, signed in with DefaultAzureCredential')
    .option('--blob-endpoint <url>', 'blob endpoint (with --table-endpoint; SAS from AZURE_STORAGE_SAS)')
    .option('--table-endpoint <url>', 'table endpoint (with --blob-endpoint)')
    .option('--json', 'print one JSON document')
    .option('-w, --watch [ms]', 'refresh every ms (default 2000) until Ctrl-C')
    .option('--cost', 'add storage transactions per node-hour and a monthly estimate')
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
    .option('--nodes <n>', 'node count for --cost (default: live members)')
    .option('--renew-ms <ms>', "for --cost: the nodes' renewIntervalMs (default 5000)", parsePositiveInt)
    .option('--retry-ms <ms>', "for --cost: the nodes' retryIntervalMs (default 2000)", parsePositiveInt)
    .option(
      '--heartbeat-ms <ms>',
      "for --cost: the nodes' heartbeatIntervalMs (default 5000)",
      parsePositiveInt,
    )
    .option('--poll-ms <ms>', "for --cost: the nodes' bus pollIntervalMs (default 1000)", parsePositiveInt)
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
  prices?: string;
  memberTtlMs?: number;
  leaseMs?: number;
  renewMs?: number;
  retryMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
}

/** Prints the cluster's state; exit 0 healthy, 1 unhealthy (no leader, or leader not a live member). */
export async function run(options: StatusCommandOptions, io: CliIo): Promise<number> {
  // The runtime brings the Azure SDK: loaded when status runs, not when the CLI starts.
  const { sleep, DEFAULT_PRICES, estimateCost, readClusterStatus } = await import('@gossipless/runtime');
  const { storageFromCli } = await import('../storage-options.js');
  const cluster = options.cluster ?? io.env.GOSSIPLESS_CLUSTER;
  if (!cluster) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      'which cluster? pass --cluster <name> or set GOSSIPLESS_CLUSTER',
    );
  }
  const storage = storageFromCli(options, io.env);
  const prices = options.prices ? await loadPrices(options.prices) : DEFAULT_PRICES;
  const read = () =>
    readClusterStatus(storage, {
      cluster,
      container: options.container,
      tablePrefix: options.tablePrefix,
      memberTtlMs: options.memberTtlMs,
      // A member is suspect once two heartbeats are missed; without the heartbeat, two thirds of the TTL.
      suspectAfterMs: options.heartbeatMs
        ? options.heartbeatMs * 2
        : options.memberTtlMs && Math.round((options.memberTtlMs * 2) / 3),
      leaseDurationMs: options.leaseMs,
      abortSignal: io.signal,
    });
  const costFor = (status: ClusterStatus): CostEstimate | undefined => {
    if (!options.cost) return undefined;
    const nodes = options.nodes
      ? Number(options.nodes)
      : Math.max(1, status.members.filter((m) => m.state !== 'dead').length);
    if (!Number.isInteger(nodes) || nodes < 1) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `--nodes must be a positive integer, got "${options.nodes}"`,
      );
    }
    return estimateCost(
      nodes,
      {
        renewIntervalMs: options.renewMs,
        retryIntervalMs: options.retryMs,
        heartbeatIntervalMs: options.heartbeatMs,
        pollIntervalMs: options.pollMs,
      },
      prices,
    );
  };

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

  const status = await read();
  const cost = costFor(status);
  io.stdout(
    options.json ? JSON.stringify({ ...status, cost }, null, 2) + '\n' : render(status, cost, io.color),
  );
  return status.healthy ? ExitCode.Ok : ExitCode.Findings;
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
  return { ...(parsed as TransactionPrices), source: parsed.source ?? `prices from ${file}` };
}

function render(status: ClusterStatus, cost: CostEstimate | undefined, color: boolean): string {
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
    out.push(
      `${c.bold('cost')} ${c.yellow('(estimate)')} at the timings given (defaults where not), ${cost.nodes} node(s)`,
    );
    out.push(
      indent(
        textTable(
          ['ROLE', 'BLOB/h', 'TABLE/h', 'TOTAL/h'],
          [
            ['leader', String(cost.leader.blob), String(cost.leader.table), String(cost.leader.total)],
            [
              'follower',
              String(cost.follower.blob),
              String(cost.follower.table),
              String(cost.follower.total),
            ],
          ],
        ),
      ),
    );
    out.push(
      `  cluster: ${cost.clusterPerHour} transactions/hour, about $${cost.monthlyUsd.toFixed(2)} per month`,
    );
    out.push(`  prices: ${cost.prices.source}`);
  }
  return out.join('\n') + '\n';
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
