import { Command } from '@commander-js/extra-typings';
import type { CommandContext } from '../command-context.js';
import { parsePort, parsePositiveInt } from '../parse-options.js';
import { dirname, join, resolve } from 'node:path';
import { GossiplessError } from '@gossipless/runtime/errors';
import type { EdgePlan } from '../../edge/index.js';
import { ExitCode, type CliIo } from '../io.js';
import { ensureOutputDirectory, writeOutputFile } from '../output-file.js';

/** `gossipless edge`: its options and help; the work is in {@link run}. */
export function edgeCommand(context: CommandContext) {
  return new Command('edge')
    .description(
      'turn rate-limit rules (JSON or YAML) into edge configuration and report, per rule and target,\n' +
        'what is exact, approximated or refused, the worst case per client and the fleet-wide bound.\n' +
        'Exit 0 configuration generated (refusals listed in the report); 1 only with --strict, when a\n' +
        'target refused a rule; 2 invalid rules or flags, a target left with no rule, or a write error\n' +
        '(nothing is written then). docs/edge.md lists what each target refuses and why.',
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
    .option(
      '--divide-by-instances',
      'give each of the --instances counters limit / N (rounded down, stated in the report) so the fleet stays within the rule',
    )
    .option('--strict', 'exit 1 when a target refused a rule (default: report it and exit 0)')
    .option('--json', 'print one JSON document with every report row')
    .action(async (rulesFile: string, options) =>
      context.setExitCode(await run(rulesFile, options, context.io)),
    );
}

/** Options of `gossipless edge`. */
export interface EdgeCommandOptions {
  target: string[];
  out?: string;
  instances?: number;
  listen?: string;
  upstream?: string;
  service?: string;
  servicePort?: number;
  json?: boolean;
  /** Exit 1 when a target refused a rule (default: report it and exit 0). */
  strict?: boolean;
  /** Divide each limit by `instances` for counters that are not global. */
  divideByInstances?: boolean;
}

/** Name of the report written next to the configurations. */
export const REPORT_FILE = 'report.md';

/**
 * Reads the rules, plans every target, prints the report (or one JSON document) and, with `--out`,
 * writes the files. Exit codes: 0 written (refusals, if any, are in the report); 1 with `--strict`
 * when a target refused a rule; 2 for invalid rules or flags, a target left with no rule (its file
 * would deploy as "no limits"), or a file that cannot be written — nothing is written then.
 */
export async function run(rulesFile: string, options: EdgeCommandOptions, io: CliIo): Promise<number> {
  const { emptyTargets, hasRefusals, loadRateLimitRules, parseEdgeTargets, planEdge, renderEdgeReport } =
    await import('../../edge/index.js');
  const targets = parseEdgeTargets(options.target);
  const rules = await loadRateLimitRules(resolve(io.cwd, rulesFile));
  const plan = planEdge(rules, targets, {
    ...(options.instances !== undefined ? { instances: options.instances } : {}),
    ...(options.listen !== undefined ? { listen: options.listen } : {}),
    ...(options.upstream !== undefined ? { upstream: options.upstream } : {}),
    ...(options.service !== undefined ? { serviceName: options.service } : {}),
    ...(options.servicePort !== undefined ? { servicePort: options.servicePort } : {}),
    ...(options.divideByInstances ? { divideAmongInstances: true } : {}),
  });
  refuseEmptyTargets(plan, emptyTargets(plan));
  const report = renderEdgeReport(plan);
  const written =
    options.out === undefined
      ? undefined
      : await writeEdgeFiles(plan, report, options.out === '' ? '' : resolve(io.cwd, options.out), {
          flag: '--out',
          signal: io.signal,
        });
  if (options.json) {
    io.stdout(`${JSON.stringify(toJson(plan, written), null, 2)}\n`);
  } else {
    io.stdout(report);
    io.stdout(
      written
        ? `\nWrote ${written.length} files under ${resolve(io.cwd, options.out!)} (including ${REPORT_FILE}).\n`
        : `\nNothing written: pass --out <dir> to write the files listed above and ${REPORT_FILE}.\n`,
    );
  }
  if (hasRefusals(plan) && !options.strict && !options.json) {
    io.stderr(
      'gossipless: some rules were refused by some targets (see the report); pass --strict to exit 1 on refusals\n',
    );
  }
  return hasRefusals(plan) && options.strict ? ExitCode.Findings : ExitCode.Ok;
}

// A target whose every rule was refused (or a file with no rules) would still write a deployable
// file that limits nothing; Front Door and Application Gateway policies would replace the custom
// rules already deployed. Nothing is written then.
function refuseEmptyTargets(plan: EdgePlan, empty: readonly string[]): void {
  if (plan.rules.length === 0) {
    throw new GossiplessError(
      'INVALID_RULES',
      'the rules file has no rules; nothing to write (a generated policy with no rules would replace the deployed ones)',
    );
  }
  if (empty.length === 0) return;
  const lines = empty.map((target) => {
    const why = plan.rows
      .filter((row) => row.target === target)
      .map(
        (row) =>
          `rule "${row.rule}"${row.variant ? ` (${row.variant})` : ''}: ${row.reasons[0] ?? 'refused'}`,
      );
    return `  - ${target}: ${[...new Set(why)].join('; ')}`;
  });
  throw new GossiplessError(
    'INVALID_RULES',
    `nothing written: ${empty.join(', ')} would carry no rule (every rule refused), and deploying such a file removes the limits already in place; drop ${empty.length === 1 ? 'that target' : 'those targets'} from --target or add a rule ${empty.length === 1 ? 'it' : 'they'} can carry:\n${lines.join('\n')}`,
  );
}

function toJson(plan: EdgePlan, written: string[] | undefined): object {
  return {
    instances: plan.context.instances,
    rules: plan.rules.map((rule) => rule.name),
    rows: plan.rows,
    targets: plan.targets.map((t) => ({
      target: t.target,
      files: t.files.map((f) => f.path),
      notes: t.notes,
    })),
    refused: plan.rows.filter((row) => row.fidelity === 'refused').length,
    written: written ?? null,
  };
}

/**
 * Writes every target's files and the report under `outDir` through the one safe writer (exclusive
 * temp file, no symlink or device followed, no tree created from a typo), stopping between files
 * when `signal` aborts. Returns the paths written. Used by `edge --out` and the demo's report.
 */
export async function writeEdgeFiles(
  plan: EdgePlan,
  report: string,
  outDir: string,
  options: { flag: string; signal?: AbortSignal },
): Promise<string[]> {
  const written: string[] = [];
  await ensureOutputDirectory(outDir, options.flag);
  for (const file of [...plan.files, { path: REPORT_FILE, content: report }]) {
    if (options.signal?.aborted) {
      throw new GossiplessError(
        'ABORTED',
        `interrupted: wrote ${written.length} of ${plan.files.length + 1} files under ${outDir}; rerun to write them all`,
      );
    }
    const path = join(outDir, file.path);
    // Target folders (nginx/, envoy/ …) one level at a time: never a recursive mkdir.
    if (dirname(path) !== outDir) await ensureOutputDirectory(dirname(path), options.flag);
    await writeOutputFile(path, file.content, options);
    written.push(path);
  }
  return written;
}
