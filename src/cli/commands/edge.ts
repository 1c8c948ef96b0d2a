import { Command } from '@commander-js/extra-typings';
import type { CommandContext } from '../command-context.js';
import { parsePort, parsePositiveInt } from '../parse-options.js';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { EdgePlan } from '../../edge/index.js';
import { ExitCode, type CliIo } from '../io.js';

/** `gossipless edge`: its options and help; the work is in {@link run}. */
export function edgeCommand(context: CommandContext) {
  return new Command('edge')
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
}

/** Name of the report written next to the configurations. */
export const REPORT_FILE = 'report.md';

/**
 * Reads the rules, plans every target, prints the report (or one JSON document) and, with `--out`,
 * writes the files. Exit 1 when a target refused a rule, so CI notices what was not carried over.
 */
export async function run(rulesFile: string, options: EdgeCommandOptions, io: CliIo): Promise<number> {
  const { hasRefusals, loadRateLimitRules, parseEdgeTargets, planEdge, renderEdgeReport } =
    await import('../../edge/index.js');
  const targets = parseEdgeTargets(options.target);
  const rules = await loadRateLimitRules(resolve(io.cwd, rulesFile));
  const plan = planEdge(rules, targets, {
    ...(options.instances !== undefined ? { instances: options.instances } : {}),
    ...(options.listen !== undefined ? { listen: options.listen } : {}),
    ...(options.upstream !== undefined ? { upstream: options.upstream } : {}),
    ...(options.service !== undefined ? { serviceName: options.service } : {}),
    ...(options.servicePort !== undefined ? { servicePort: options.servicePort } : {}),
  });
  const report = renderEdgeReport(plan);
  let written: string[] | undefined;
  if (options.out !== undefined) {
    const outDir = resolve(io.cwd, options.out);
    written = [];
    for (const file of [...plan.files, { path: REPORT_FILE, content: report }]) {
      const path = join(outDir, file.path);
      await writeAtomically(path, file.content);
      written.push(path);
    }
  }
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
  return hasRefusals(plan) ? ExitCode.Findings : ExitCode.Ok;
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

// A crash mid-write leaves the previous file, never half a configuration.
async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, 'utf8');
  await rename(temporary, path);
}
