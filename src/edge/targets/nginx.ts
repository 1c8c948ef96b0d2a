import { GossiplessError } from '@gossipless/runtime/errors';
import type { EdgeContext, RateLimitRule } from '../model.js';
import { escapeRegex, lineComment, slashTolerantPrefix } from '../config-text.js';
import {
  counterRule,
  describeKey,
  describeRate,
  missingHeaderNote,
  pacedBurst,
  snakeIdentifier,
  worstCase,
} from '../report-row.js';
import type { EdgeTargetShape, TranslatedRule } from '../target-shape.js';

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

/** nginx's model of one rule. */
interface NginxRule extends TranslatedRule {
  readonly zone: string;
  readonly rate: NginxRate;
  /** The burst written to limit_req (see pacedBurst). */
  readonly burst: number;
  readonly keyExpression: string;
}

/** What the locations decide for the whole rule set. */
interface NginxSurvey {
  /** Location paths, longest first, then "/". */
  readonly locationPaths: readonly string[];
  /** Reasons a rule answers another location's status. */
  readonly statusReasons: ReadonlyMap<string, readonly string[]>;
  /** Log-only rules that share a location with rejecting rules. */
  readonly refusedLog: ReadonlySet<string>;
}

/**
 * nginx (open source): `limit_req_zone` per rule, `limit_req … nodelay` in each location the rule's
 * path covers, method/host matches folded into the key with a `map` (an empty key is not counted).
 * The file goes inside `http {}`; it defines a server on `context.listen` in front of
 * `context.upstream`.
 */
export const nginxTarget: EdgeTargetShape<NginxRule, NginxSurvey> = {
  target: 'nginx',
  counterScope: 'per instance',
  survey: surveyLocations,
  refuse(rule, context) {
    const reasons = ruleRefusals(rule);
    if (reasons.length > 0) return reasons;
    return context.survey.refusedLog.has(rule.name)
      ? [
          'log-only needs limit_req_dry_run, which nginx applies to a whole location, and a location this rule covers also has rejecting rules',
        ]
      : [];
  },
  translate(rule, context) {
    // refuse() has checked that the rate exists.
    const rate = nginxRate(rule.limit, rule.windowMs)!;
    const paced = pacedBurst(rule);
    const burst = paced.burst;
    const zone = `gl_${snakeIdentifier(rule.name)}`;
    return {
      rule,
      zone,
      rate,
      burst,
      keyExpression: keyExpression(rule),
      row: {
        setting: `limit_req_zone … rate=${rate.text}; limit_req zone=${zone}${burst > 0 ? ` burst=${burst}` : ''} nodelay${rule.action === 'log' ? '; limit_req_dry_run on' : ''}`,
        reasons: [
          ...rate.reasons,
          ...paced.reasons,
          ...(context.survey.statusReasons.get(rule.name) ?? []),
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
      },
    };
  },
  render(translated, context) {
    const lines: string[] = [
      '# Generated by `gossipless edge` from rate-limit rules; regenerate instead of editing.',
      '# Include inside the http {} block, e.g. as /etc/nginx/conf.d/gossipless-rate-limits.conf.',
      "# Counters live in each nginx instance's shared memory: N instances allow N times the limit.",
      '',
    ];
    for (const p of translated) {
      lines.push(
        `# rule ${p.rule.name}: ${describeRate(p.rule.limit, p.rule.windowMs)}, burst ${p.burst}, key ${describeKey(p.rule)}${p.rule.source ? ` (from ${lineComment(p.rule.source)})` : ''}`,
      );
      const keyVariable = matchMap(p, lines);
      lines.push(`limit_req_zone ${keyVariable} zone=${p.zone}:10m rate=${p.rate.text};`, '');
    }
    lines.push('upstream gossipless_upstream {', `    server ${context.upstream};`, '}', '');
    lines.push('server {', `    listen ${context.listen};`, '');
    for (const path of context.survey.locationPaths) {
      const here = translated.filter((p) => covers(p.rule, path));
      lines.push(path === '/' ? '    location / {' : `    location ~* ^${slashTolerantPrefix(path)} {`);
      for (const p of here) {
        lines.push(`        limit_req zone=${p.zone}${p.burst > 0 ? ` burst=${p.burst}` : ''} nodelay;`);
      }
      const rejecting = here.filter((p) => p.rule.action === 'reject');
      if (rejecting[0]) lines.push(`        limit_req_status ${rejecting[0].rule.status};`);
      if (here.length > 0 && rejecting.length === 0) lines.push('        limit_req_dry_run on;');
      lines.push('        proxy_pass http://gossipless_upstream;', '    }', '');
    }
    lines.push('}', '');
    return {
      files: [{ path: NGINX_FILE, content: lines.join('\n') }],
      notes: [`include ${NGINX_FILE} inside http {}; check with \`nginx -t\``],
    };
  },
};

// Refusals that depend on the rule alone.
function ruleRefusals(rule: RateLimitRule): string[] {
  if (rule.key.some((part) => part.kind === 'jwt')) {
    return [
      `nginx open source cannot read JWT claims (key ${describeKey(rule)}); NGINX Plus exposes $jwt_claim_*, or key the rule by a header your auth layer sets`,
    ];
  }
  if (!nginxRate(rule.limit, rule.windowMs)) {
    return [`${describeRate(rule.limit, rule.windowMs)} is slower than nginx's slowest rate, 1r/m`];
  }
  return [];
}

// A rule applies in every location its path prefix covers.
function covers(rule: RateLimitRule, locationPath: string): boolean {
  return !rule.match.path || locationPath.startsWith(rule.match.path.toLowerCase());
}

function surveyLocations(rules: readonly RateLimitRule[], context: EdgeContext): NginxSurvey {
  const planned = rules.flatMap((original) => {
    const rule = counterRule(original, context);
    return rule && ruleRefusals(rule).length === 0 ? [rule] : [];
  });
  // One location per distinct path prefix, plus "/". A rule applies to every location its prefix
  // covers, because nginx picks one location per request and limit_req is not inherited into a
  // location that has its own limit_req lines. Prefixes become case-insensitive regex locations
  // (`~*`), longest first because nginx takes the first regex that matches: nginx matches them
  // against the normalised URI (percent-decoded, slashes merged, dot segments resolved), so
  // /API/login, /api/%6cogin and //api//login are all the /api/login location.
  const locationPaths = [
    ...new Set(planned.flatMap((rule) => (rule.match.path ? [rule.match.path.toLowerCase()] : []))),
  ].sort((a, b) => b.length - a.length || a.localeCompare(b));
  if (!locationPaths.includes('/')) locationPaths.push('/');

  // limit_req_status and limit_req_dry_run are per location, not per limit_req line.
  const statusReasons = new Map<string, string[]>();
  const refusedLog = new Set<string>();
  for (const path of locationPaths) {
    const here = planned.filter((rule) => covers(rule, path));
    const rejecting = here.filter((rule) => rule.action === 'reject');
    const status = rejecting[0]?.status;
    for (const rule of rejecting) {
      if (rule.status !== status) {
        const list = statusReasons.get(rule.name) ?? [];
        list.push(`answers ${status} in location ${path}: nginx has one limit_req_status per location`);
        statusReasons.set(rule.name, list);
      }
    }
    if (rejecting.length > 0) {
      for (const rule of here) if (rule.action === 'log') refusedLog.add(rule.name);
    }
  }
  return { locationPaths, statusReasons, refusedLog };
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
function matchMap(p: NginxRule, lines: string[]): string {
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
