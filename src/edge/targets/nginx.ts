import { GossiplessError } from '@gossipless/runtime/errors';
import type { EdgeContext, RateLimitRule, ReportRow, TargetPlan } from '../model.js';
import { escapeRegex, lineComment, slashTolerantPrefix } from '../config-text.js';
import {
  counterRule,
  describeKey,
  describeRate,
  missingHeaderNote,
  pacedBurst,
  refusedRow,
  reportRow,
  shareRefusal,
  snakeIdentifier,
  worstCase,
} from '../report-row.js';

/** Output file of the nginx target, relative to `--out`. */
export const NGINX_FILE = 'nginx/gossipless-rate-limits.conf';

/** A rate nginx can hold: `n` requests per second or per minute. */
export interface NginxRate {
  readonly text: string;
  /** The rate as nginx keeps it: thousandths of a request per second, truncated. */
  readonly rateMilli: number;
  readonly reasons: readonly string[];
}

/**
 * The nginx rate for `limit` per `windowMs`: `r/s` when whole, else `r/m` when whole, else `r/m`
 * rounded down (stricter, never looser). Undefined when even 1r/m is faster than the rule.
 */
export function nginxRate(limit: number, windowMs: number): NginxRate | undefined {
  const perSecond = (limit * 1000) / windowMs;
  if (Number.isInteger(perSecond))
    return { text: `${perSecond}r/s`, rateMilli: perSecond * 1000, reasons: [] };
  const perMinute = (limit * 60_000) / windowMs;
  // nginx converts r/m to thousandths of a request per second with integer division.
  if (Number.isInteger(perMinute)) {
    return { text: `${perMinute}r/m`, rateMilli: Math.floor((perMinute * 1000) / 60), reasons: [] };
  }
  const floored = Math.floor(perMinute);
  if (floored < 1) return undefined;
  return {
    text: `${floored}r/m`,
    rateMilli: Math.floor((floored * 1000) / 60),
    reasons: [
      `nginx rates are whole requests per second or minute: ${perMinute.toFixed(2)}r/m rounded down to ${floored}r/m`,
    ],
  };
}

interface PlannedRule {
  /** The rule as one nginx instance enforces it (see counterRule). */
  readonly rule: RateLimitRule;
  readonly zone: string;
  readonly rate: NginxRate;
  /** The burst written to limit_req (see pacedBurst). */
  readonly burst: number;
  readonly burstReasons: readonly string[];
  readonly keyExpression: string;
}

/**
 * nginx (open source): `limit_req_zone` per rule, `limit_req … nodelay` in each location the rule's
 * path covers, method/host matches folded into the key with a `map` (an empty key is not counted).
 * The file goes inside `http {}`; it defines a server on `context.listen` in front of
 * `context.upstream`.
 */
export function planNginx(rules: readonly RateLimitRule[], context: EdgeContext): TargetPlan {
  const rows = new Map<string, ReportRow>();
  const planned: PlannedRule[] = [];
  for (const original of rules) {
    const rule = counterRule(original, context);
    if (!rule) {
      rows.set(original.name, refusedRow(original, 'nginx', [shareRefusal(original, context)]));
      continue;
    }
    const jwt = rule.key.find((part) => part.kind === 'jwt');
    if (jwt) {
      rows.set(
        rule.name,
        refusedRow(rule, 'nginx', [
          `nginx open source cannot read JWT claims (key ${describeKey(rule)}); NGINX Plus exposes $jwt_claim_*, or key the rule by a header your auth layer sets`,
        ]),
      );
      continue;
    }
    const rate = nginxRate(rule.limit, rule.windowMs);
    if (!rate) {
      rows.set(
        rule.name,
        refusedRow(rule, 'nginx', [
          `${describeRate(rule.limit, rule.windowMs)} is slower than nginx's slowest rate, 1r/m`,
        ]),
      );
      continue;
    }
    const paced = pacedBurst(rule);
    planned.push({
      rule,
      zone: `gl_${snakeIdentifier(rule.name)}`,
      rate,
      burst: paced.burst,
      burstReasons: paced.reasons,
      keyExpression: keyExpression(rule),
    });
  }

  // One location per distinct path prefix, plus "/". A rule applies to every location its prefix
  // covers, because nginx picks one location per request and limit_req is not inherited into a
  // location that has its own limit_req lines. Prefixes become case-insensitive regex locations
  // (`~*`), longest first because nginx takes the first regex that matches: nginx matches them
  // against the normalised URI (percent-decoded, slashes merged, dot segments resolved), so
  // /API/login, /api/%6cogin and //api//login are all the /api/login location.
  const locationPaths = [
    ...new Set(planned.flatMap((p) => (p.rule.match.path ? [p.rule.match.path.toLowerCase()] : []))),
  ].sort((a, b) => b.length - a.length || a.localeCompare(b));
  if (!locationPaths.includes('/')) locationPaths.push('/');
  const locations = locationPaths.map((path) => ({
    path,
    rules: planned.filter((p) => !p.rule.match.path || path.startsWith(p.rule.match.path.toLowerCase())),
  }));

  // limit_req_status and limit_req_dry_run are per location, not per limit_req line.
  const extraReasons = new Map<string, string[]>();
  const refusedLog = new Set<string>();
  for (const location of locations) {
    const rejecting = location.rules.filter((p) => p.rule.action === 'reject');
    const status = rejecting[0]?.rule.status;
    for (const p of rejecting) {
      if (p.rule.status !== status) {
        const list = extraReasons.get(p.rule.name) ?? [];
        list.push(
          `answers ${status} in location ${location.path}: nginx has one limit_req_status per location`,
        );
        extraReasons.set(p.rule.name, list);
      }
    }
    if (rejecting.length > 0) {
      for (const p of location.rules) if (p.rule.action === 'log') refusedLog.add(p.rule.name);
    }
  }
  for (const name of refusedLog) {
    const p = planned.find((q) => q.rule.name === name)!;
    rows.set(
      name,
      refusedRow(p.rule, 'nginx', [
        'log-only needs limit_req_dry_run, which nginx applies to a whole location, and a location this rule covers also has rejecting rules',
      ]),
    );
  }
  const active = planned.filter((p) => !refusedLog.has(p.rule.name));

  const lines: string[] = [
    '# Generated by `gossipless edge` from rate-limit rules; regenerate instead of editing.',
    '# Include inside the http {} block, e.g. as /etc/nginx/conf.d/gossipless-rate-limits.conf.',
    "# Counters live in each nginx instance's shared memory: N instances allow N times the limit.",
    '',
  ];
  for (const p of active) {
    lines.push(
      `# rule ${p.rule.name}: ${describeRate(p.rule.limit, p.rule.windowMs)}, burst ${p.burst}, key ${describeKey(p.rule)}${p.rule.source ? ` (from ${lineComment(p.rule.source)})` : ''}`,
    );
    const keyVariable = matchMap(p, lines);
    lines.push(`limit_req_zone ${keyVariable} zone=${p.zone}:10m rate=${p.rate.text};`, '');
  }
  lines.push('upstream gossipless_upstream {', `    server ${context.upstream};`, '}', '');
  lines.push('server {', `    listen ${context.listen};`, '');
  for (const location of locations) {
    const here = location.rules.filter((p) => !refusedLog.has(p.rule.name));
    lines.push(
      location.path === '/' ? '    location / {' : `    location ~* ^${slashTolerantPrefix(location.path)} {`,
    );
    for (const p of here) {
      lines.push(`        limit_req zone=${p.zone}${p.burst > 0 ? ` burst=${p.burst}` : ''} nodelay;`);
    }
    const rejecting = here.filter((p) => p.rule.action === 'reject');
    if (rejecting[0]) lines.push(`        limit_req_status ${rejecting[0].rule.status};`);
    if (here.length > 0 && rejecting.length === 0) lines.push('        limit_req_dry_run on;');
    lines.push('        proxy_pass http://gossipless_upstream;', '    }', '');
  }
  lines.push('}', '');

  for (const p of active) {
    const { rule, rate, burst } = p;
    rows.set(
      rule.name,
      reportRow(rule, 'nginx', context, {
        setting: `limit_req_zone … rate=${rate.text}; limit_req zone=${p.zone}${burst > 0 ? ` burst=${burst}` : ''} nodelay${rule.action === 'log' ? '; limit_req_dry_run on' : ''}`,
        reasons: [
          ...rate.reasons,
          ...p.burstReasons,
          ...(extraReasons.get(rule.name) ?? []),
          ...(rule.key.some((k) => k.kind === 'path')
            ? ['key path is $uri, which keeps case: /API and /api count separately']
            : []),
        ],
        notes: [
          `leaky bucket: ${burst + 1} at once, then one every ${(1_000_000 / rate.rateMilli).toFixed(0)} ms`,
          ...(rule.match.path
            ? [
                'path matched case-insensitively on the normalised URI (percent-decoded, slashes merged, dot segments resolved)',
              ]
            : []),
          ...(rule.match.methods || rule.match.host
            ? ['method/host match is folded into the key by a map; other requests are not counted']
            : []),
          ...(rule.key.some((k) => k.kind === 'path')
            ? ['key path is $uri (normalised, without query string)']
            : []),
          ...missingHeaderNote(rule),
        ],
        worstCasePerWindow: worstCase.leakyBucket(rate.rateMilli, burst, rule.windowMs),
        burstAtOnce: burst + 1,
        counterScope: 'per instance',
      }),
    );
  }
  return {
    target: 'nginx',
    files: [{ path: NGINX_FILE, content: lines.join('\n') }],
    rows: rules.map((rule) => rows.get(rule.name)!),
    notes: [`include ${NGINX_FILE} inside http {}; check with \`nginx -t\``],
  };
}

function keyExpression(rule: RateLimitRule): string {
  const parts = rule.key.map((part) => {
    switch (part.kind) {
      case 'ip':
        return '$binary_remote_addr';
      case 'path':
        return '$uri';
      case 'header':
        return `$http_${part.name.replace(/-/g, '_')}`;
      case 'jwt':
        throw new GossiplessError('INTERNAL', 'nginx: jwt keys are refused before key expressions are built');
    }
  });
  return parts.length === 1 ? parts[0]! : `"${parts.join(':')}"`;
}

// Writes a map that yields the key for matching requests and "" for others (nginx does not count
// requests whose key is empty), and returns the variable to key the zone by.
function matchMap(p: PlannedRule, lines: string[]): string {
  const { methods, host } = p.rule.match;
  if (!methods && !host) return p.keyExpression;
  const variable = `$gl_${snakeIdentifier(p.rule.name)}_key`;
  const methodPattern = methods ? `(?:${methods.join('|')})` : '[A-Z]+';
  const hostPattern = host ? escapeRegex(host) : '.*';
  const value = p.keyExpression.startsWith('"') ? p.keyExpression : `"${p.keyExpression}"`;
  lines.push(
    `map "$request_method|$host" ${variable} {`,
    '    default "";',
    `    "~^${methodPattern}\\|${hostPattern}$" ${value};`,
    '}',
  );
  return variable;
}
