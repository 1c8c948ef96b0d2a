import { GossiplessError } from '@gossipless/runtime/errors';
import { describeDuration } from './duration.js';
import {
  EDGE_TARGETS,
  type EdgeContext,
  type EdgeContextOptions,
  type EdgeFile,
  type EdgeTarget,
  type RateLimitRule,
  type ReportRow,
  type TargetPlan,
} from './model.js';
import { markdownText } from './config-text.js';
import { describeKey, intendedPerWindow } from './report-row.js';
import { planTarget } from './plan-target.js';
import { EDGE_TARGET_SHAPES } from './targets/index.js';

/** Fills defaults and validates {@link EdgeContextOptions}. */
export function resolveEdgeContext(options: EdgeContextOptions = {}): EdgeContext {
  const context: EdgeContext = {
    instances: options.instances ?? 1,
    listen: options.listen ?? '0.0.0.0:8080',
    upstream: options.upstream ?? '127.0.0.1:3000',
    serviceName: options.serviceName ?? 'app',
    servicePort: options.servicePort ?? 80,
    divideAmongInstances: options.divideAmongInstances ?? false,
  };
  if (!Number.isInteger(context.instances) || context.instances < 1) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `instances must be a whole number ≥ 1, got ${String(options.instances)}`,
    );
  }
  if (!Number.isInteger(context.servicePort) || context.servicePort < 1 || context.servicePort > 65535) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `servicePort must be 1–65535, got ${String(options.servicePort)}`,
    );
  }
  const listen = hostPortProblem(context.listen);
  if (listen) throw new GossiplessError('INVALID_OPTIONS', `listen "${context.listen}" ${listen}`);
  const upstream = hostPortProblem(context.upstream);
  if (upstream) throw new GossiplessError('INVALID_OPTIONS', `upstream "${context.upstream}" ${upstream}`);
  // Kubernetes Service names are DNS-1035 labels.
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(context.serviceName)) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `service "${context.serviceName}" is not a Kubernetes Service name: lower-case letters, digits and "-", starting with a letter, at most 63 characters`,
    );
  }
  return context;
}

// nginx `listen`/`server` and HAProxy `bind`/`server` take host:port; anything else reaching the
// file verbatim could carry a directive (issue 15: "127.0.0.1:3000; } server { …").
function hostPortProblem(address: string): string | undefined {
  const match =
    /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9]{1,3}(?:\.[0-9]{1,3}){3})|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)):([0-9]{1,5})$/.exec(
      address,
    );
  if (!match) {
    return 'is not host:port (an IPv4 address, [IPv6] address or host name, then a port), e.g. 127.0.0.1:3000';
  }
  const [, ipv6, ipv4, , port] = match;
  if (ipv4 && ipv4.split('.').some((octet) => Number(octet) > 255)) return 'has an IPv4 octet above 255';
  if (ipv6 && !ipv6.includes(':')) return 'has a bracketed address that is not IPv6';
  if (Number(port) < 1 || Number(port) > 65535) return 'has a port outside 1–65535';
  return undefined;
}

/** Checks target names, e.g. from the command line. */
export function parseEdgeTargets(names: readonly string[]): EdgeTarget[] {
  const unknown = names.filter((name) => !(EDGE_TARGETS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `unknown target ${unknown.map((n) => `"${n}"`).join(', ')}; choose from ${EDGE_TARGETS.join(', ')}`,
    );
  }
  if (names.length === 0)
    throw new GossiplessError('INVALID_OPTIONS', `name at least one target: ${EDGE_TARGETS.join(', ')}`);
  return [...new Set(names)] as EdgeTarget[];
}

/** What {@link planEdge} returns: every target's files and report rows. */
export interface EdgePlan {
  readonly rules: readonly RateLimitRule[];
  readonly context: EdgeContext;
  readonly targets: readonly TargetPlan[];
  readonly rows: readonly ReportRow[];
  readonly files: readonly EdgeFile[];
}

/**
 * Plans every requested target for the rules. Pure: nothing is written.
 *
 * @example
 * ```ts
 * const rules = parseRateLimitRules(text, 'rules.json');
 * const plan = planEdge(rules, ['nginx', 'azure-front-door'], { instances: 3 });
 * console.log(renderEdgeReport(plan));
 * ```
 */
export function planEdge(
  rules: readonly RateLimitRule[],
  targets: readonly EdgeTarget[],
  options: EdgeContextOptions = {},
): EdgePlan {
  const context = resolveEdgeContext(options);
  const plans = targets.map((target) => planTarget(EDGE_TARGET_SHAPES[target], rules, context));
  return {
    rules,
    context,
    targets: plans,
    rows: plans.flatMap((plan) => plan.rows),
    files: plans.flatMap((plan) => plan.files),
  };
}

/** True when some rule was refused by some target (`gossipless edge --strict` exits 1 then). */
export function hasRefusals(plan: EdgePlan): boolean {
  return plan.rows.some((row) => row.fidelity === 'refused');
}

/**
 * Targets that carry no rule at all (no rules, or every rule refused). Their files would deploy
 * as "no limits" — for Front Door and Application Gateway, replacing a policy's existing custom
 * rules — so the CLI refuses to write any of them.
 */
export function emptyTargets(plan: EdgePlan): EdgeTarget[] {
  return plan.targets
    .filter((target) => !target.rows.some((row) => row.fidelity !== 'refused'))
    .map((target) => target.target);
}

/** The report as Markdown: one table per rule, reasons and notes under it, then target notes. */
export function renderEdgeReport(plan: EdgePlan): string {
  const n = plan.context.instances;
  const out: string[] = [
    '# gossipless edge report',
    '',
    `${plan.rules.length} rule${plan.rules.length === 1 ? '' : 's'} × ${plan.targets.length} target${plan.targets.length === 1 ? '' : 's'}; fleet bounds for --instances ${n}.`,
    "Worst case: the most requests one client (one key value) gets through one counter within any span of the rule's window.",
    'Fleet bound: the worst case times the number of independent counters (every scope but global multiplies by --instances).',
    '',
  ];
  for (const rule of plan.rules) {
    const window = describeDuration(rule.windowMs);
    out.push(
      `## ${rule.name}: ${rule.limit} per ${window}${rule.burst ? `, burst ${rule.burst}` : ''}, key ${describeKey(rule)}${describeMatch(rule)}, ${rule.action === 'log' ? 'log only' : `reject ${rule.status}`}`,
      '',
      `Intended: at most ${intendedPerWindow(rule)} per ${window} per client.${rule.source ? ` Found at ${markdownText(rule.source)}.` : ''}${rule.note ? ` Note: ${markdownText(rule.note)}` : ''}`,
      '',
      `| target | fidelity | setting | worst case per ${window} | at once | counter scope | fleet bound (N=${n}) |`,
      '|---|---|---|---|---|---|---|',
    );
    const rows = plan.rows.filter((row) => row.rule === rule.name);
    for (const row of rows) {
      out.push(
        `| ${targetLabel(row)} | ${row.fidelity} | ${row.setting ? `\`${cell(row.setting)}\`` : '—'} | ${row.worstCasePerWindow ?? '—'} | ${row.burstAtOnce ?? '—'} | ${row.counterScope ?? '—'} | ${row.fleetBound ?? '—'} |`,
      );
    }
    out.push('');
    for (const row of rows) {
      for (const reason of row.reasons)
        out.push(
          `- ${targetLabel(row)} ${row.fidelity === 'refused' ? 'refused' : 'approximated'}: ${reason}`,
        );
      for (const note of row.notes) out.push(`- ${targetLabel(row)} note: ${note}`);
    }
    out.push('');
  }
  const targetNotes = plan.targets.flatMap((t) => t.notes.map((note) => `- ${t.target}: ${note}`));
  if (targetNotes.length > 0) out.push('## Targets', '', ...targetNotes, '');
  out.push('## Files', '', ...plan.files.map((file) => `- ${file.path}`), '');
  return out.join('\n');
}

function targetLabel(row: ReportRow): string {
  return row.variant ? `${row.target} (${row.variant})` : row.target;
}

function describeMatch(rule: RateLimitRule): string {
  const { path, methods, host } = rule.match;
  const parts = [methods?.join(',') ?? '', host ? `host ${host}` : '', path ? `path ${path}*` : ''].filter(
    (p) => p,
  );
  return parts.length > 0 ? `, on ${parts.join(' ')}` : '';
}

function cell(text: string): string {
  return markdownText(text);
}
