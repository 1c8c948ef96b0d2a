import { Command, CommanderError, Option } from 'commander';
import { GossiplessError } from '../errors/index.js';
import { redactUnknown } from '../redact/index.js';
import { VERSION } from '../version/index.js';
import { ExitCode, type CliIo } from './io.js';

/**
 * Builds the CLI. Each command's code lives in `commands/<name>.ts` and is imported only when that
 * command runs, so `gossipless lint` does not load the Azure SDK.
 */
export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('gossipless')
    .description(
      'Move a clustered Node.js service off gossip/multicast discovery: blob-lease leadership,\n' +
        'an Azure Table as membership list and bus, global rate limits at the edge.',
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('dev')
    .description(
      'start an in-memory Azurite (blob + table) on free loopback ports and print the connection string;\n' +
        'runs until interrupted (Ctrl-C)',
    )
    .option('--blob-port <port>', 'blob port (default: a free one)', parsePort)
    .option('--table-port <port>', 'table port (default: a free one)', parsePort)
    .option('--json', 'print one JSON document with the endpoints and connection string')
    .action(async (options) => {
      const { run } = await import('./commands/dev.js');
      setExitCode(await run(options, io));
    });

  program
    .command('demo')
    .description(
      'the whole story on an embedded Azurite, no Azure account, about a minute: 3 replicas of the legacy\n' +
        'example where multicast is not carried (every sweep runs 3 times), lint finds the catch, migrate\n' +
        'rewrites a copy, 3 migrated replicas (one sweep per tick) through kill -9 and SIGTERM, edge configs.\n' +
        'Exit 0 only when the story held.',
    )
    .option(
      '--report <dir>',
      'write summary.json, timeline.svg and the edge configs here (default: a temp dir)',
    )
    .option('--json', 'print the summary as one JSON document')
    .addOption(
      new Option(
        '--isolation <kind>',
        'how legacy replicas are kept apart (auto: netns when root, else ports)',
      )
        .choices(['auto', 'netns', 'ports'])
        .default('auto'),
    )
    .action(async (options) => {
      const { run } = await import('./commands/demo.js');
      setExitCode(await run(options, io));
    });

  program
    .command('status')
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
      "the nodes' memberTtlMs, to judge liveness (default 15000)",
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
    .action(async (options) => {
      const { run } = await import('./commands/status.js');
      setExitCode(await run(options, io));
    });

  program
    .command('edge')
    .description(
      'turn rate-limit rules (JSON or YAML) into edge configuration and report, per rule and target,\n' +
        'what is exact, approximated or refused, the worst case per client and the fleet-wide bound',
    )
    .argument('<rules-file>', 'rules file, e.g. gossipless.rate-limits.json')
    .requiredOption(
      '--target <targets...>',
      'one or more of: nginx, haproxy, traefik, envoy, azure-front-door, azure-app-gateway, azure-apim, ingress-nginx',
    )
    .option('--out <dir>', 'write one file per target plus report.md into this directory')
    .option(
      '--instances <n>',
      'independent counters a client can reach (replicas, edge servers, regions)',
      parsePositiveInt,
    )
    .option(
      '--listen <address>',
      'address the generated nginx/HAProxy front end listens on (default 0.0.0.0:8080)',
    )
    .option(
      '--upstream <address>',
      'upstream the generated nginx/HAProxy config forwards to (default 127.0.0.1:3000)',
    )
    .option('--service <name>', 'Kubernetes Service for generated Ingress/IngressRoute (default app)')
    .option('--service-port <port>', 'its port (default 80)', parsePort)
    .option('--json', 'print one JSON document with every report row')
    .action(async (rulesFile: string, options) => {
      const { run } = await import('./commands/edge.js');
      setExitCode(await run(rulesFile, options, io));
    });

  program
    .command('migrate')
    .description(
      'rewrite a legacy repository onto the gossipless shims (node-discover, swim, in-house modules from\n' +
        'gossipless.config.json), drop transport-only options and extract rate limits; dry run by default',
    )
    .argument('<dir>', 'the repository or folder to migrate')
    .option('--write', 'apply the changes (default: print the diff and write nothing)')
    .option('--json', 'print one JSON document with the diffs, findings and summary')
    .option('--force', 'write even when the target has uncommitted changes, and rewrite read-only files')
    .option('--config <file>', 'config file (default: gossipless.config.json in <dir>)')
    .option(
      '--max-file-size <size>',
      'skip larger files (generated or minified), e.g. 4MiB, 500KiB or bytes (default 1MiB)',
      parseFileSize,
    )
    .action(async (dir: string, options) => {
      const { run } = await import('./commands/migrate.js');
      setExitCode(await run({ ...options, dir }, io));
    });

  program
    .command('lint')
    .description(
      'find catch blocks, promise .catch() and error handlers around peer discovery that swallow the failure\n' +
        'or switch discovery off (rule no-self-disabling-discovery); exit 1 when a finding is at error level',
    )
    .argument('[paths...]', 'files or directories to lint (default: the current directory)')
    .addOption(
      new Option('--format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'),
    )
    .option('--output <file>', 'write the report to this file instead of stdout')
    .action(async (paths: string[], options) => {
      const { run } = await import('./commands/lint.js');
      setExitCode(await run({ ...options, paths }, io));
    });

  return program;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new GossiplessError('INVALID_OPTIONS', `"${value}" is not a whole number ≥ 1`);
  }
  return n;
}

function parseFileSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|KB|K|MiB|MB|M|GiB|GB|G)?$/i.exec(value.trim());
  const unit = (match?.[2] ?? 'b').toLowerCase()[0]!;
  const bytes =
    match === null ? NaN : Number(match[1]) * ({ b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit] ?? NaN);
  if (!Number.isFinite(bytes) || bytes < 1) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `--max-file-size "${value}" is not a size (e.g. 4MiB, 500KiB, 1048576)`,
    );
  }
  return Math.floor(bytes);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new GossiplessError('INVALID_OPTIONS', `port "${value}" is not a port number (0–65535)`);
  }
  return port;
}

/**
 * Runs the CLI with `argv` (without node and script). Every error becomes an exit code here, and
 * only here: usage errors and internal errors are 2, with a redacted message on stderr.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Error;
    }
    if (error instanceof GossiplessError) {
      io.stderr(`gossipless: ${error.message}\n`);
      return ExitCode.Error;
    }
    io.stderr(`gossipless: internal error: ${redactUnknown(error)}\n`);
    return ExitCode.Error;
  }
}
