import { formatDuration } from '../duration.js';
import type { RateLimitRule } from '../model.js';
import { lineComment } from '../config-text.js';
import { describeKey, missingHeaderNote, pacedBurst, snakeIdentifier } from '../report-row.js';
import type { EdgeTargetShape, TranslatedRule } from '../target-shape.js';

/** Output file of the HAProxy target, relative to `--out`. */
export const HAPROXY_FILE = 'haproxy/haproxy.cfg';

// HAProxy parses every time argument into a signed 32-bit count of milliseconds: `expire 720h`
// fails with "timer overflow".
const MAX_TIMER_MS = 2_147_483_647;
// The path rules match and key by: percent-decoded, slashes merged, lower-case, so /API/login,
// /api/%6cogin and //api//login are all /api/login (HAProxy does not normalise paths itself).
const NORMALISED_PATH = 'txn.gl_path';
// HAProxy before 2.8 (Debian 12 ships 2.6) tracks at most three stick counters per request.
const STICK_COUNTER_SLOTS = 3;
// Statuses HAProxy can answer with its built-in error pages; others need an explicit body.
const DEFAULT_ERROR_STATUSES = new Set([
  400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504,
]);

/** HAProxy's model of one rule: its lines in each section of the file. */
interface HaproxyRule extends TranslatedRule {
  readonly table: readonly string[];
  readonly tracking: readonly string[];
  readonly check: string;
  readonly counting: string;
}

/**
 * HAProxy: one stick table per rule storing `http_req_rate(<window>)`, tracked with `track-scN`
 * under the rule's match, and a `deny` (or, for log-only, a `capture` into the log line) when the
 * rate exceeds the limit. Writes a complete `haproxy.cfg` whose frontend binds `context.listen`.
 */
export const haproxyTarget: EdgeTargetShape<HaproxyRule, undefined> = {
  target: 'haproxy',
  counterScope: 'per instance',
  refuse(rule, context) {
    if (rule.windowMs > MAX_TIMER_MS) {
      return [
        `window ${rule.window} is longer than HAProxy's longest timer, ${MAX_TIMER_MS} ms (about 596 h): "expire ${rule.window}" fails with "timer overflow"; use a window of at most 596h or another target`,
      ];
    }
    if (context.earlier.length >= STICK_COUNTER_SLOTS) {
      return [
        `HAProxy 2.6 tracks at most ${STICK_COUNTER_SLOTS} stick counters per request and earlier rules use them (HAProxy ≥ 2.8 raises this with tune.stick-counters)`,
      ];
    }
    if (rule.key.some((part) => part.kind === 'jwt' && !/^[A-Za-z0-9_]+$/.test(part.claim))) {
      return [
        `claim ${describeKey(rule)} is not a plain name; HAProxy's jwt_payload_query is given $.<name> paths here`,
      ];
    }
    return [];
  },
  translate(rule, context) {
    const slot = context.earlier.length;
    const id = `gl_${snakeIdentifier(rule.name)}`;
    const period = formatDuration(rule.windowMs);
    const ipOnly = rule.key.length === 1 && rule.key[0]?.kind === 'ip';
    // gpc0 counts only the requests let through (incremented after every deny check), so a client
    // that keeps sending over the limit still gets the limit per period: http_req_rate counted the
    // rejected requests too and starved it (issue 15: 100 of 900 passed at 3× the rate).
    const table = [
      `backend ${id}`,
      `    # rule ${rule.name}: ${rule.limit} per ${period}, key ${describeKey(rule)}${rule.source ? ` (from ${lineComment(rule.source)})` : ''}`,
      `    stick-table type ${ipOnly ? 'ipv6' : 'string len 256'} size 1m expire ${period} store gpc0,gpc0_rate(${period})`,
      '',
    ];
    const tracking = [`    # rule ${rule.name}`];
    const fetches = rule.key.map((part) => {
      switch (part.kind) {
        case 'ip':
          return 'src';
        case 'path':
          return `var(${NORMALISED_PATH})`;
        case 'header':
          return `req.hdr(${part.name})`;
        case 'jwt':
          // The claim is read without verifying the token: verification belongs to the auth layer.
          return `http_auth_bearer,jwt_payload_query('$.${part.claim}')`;
      }
    });
    let sample = fetches[0]!;
    fetches.slice(1).forEach((fetch, index) => {
      const variable = `txn.${id}_k${index + 1}`;
      tracking.push(`    http-request set-var(${variable}) ${fetch}`);
      sample += `,concat(|,${variable})`;
    });
    const conditions = matchConditions(rule);
    // The threshold carries the same jitter allowance as the bucket targets' burst: the two-period
    // estimate of a client pacing just under the limit wobbles above it when requests bunch.
    const paced = pacedBurst(rule);
    const threshold = rule.limit + paced.burst;
    tracking.push(
      `    http-request track-sc${slot} ${sample} table ${id}${conditions ? ` if ${conditions}` : ''}`,
    );
    const over = `{ sc_gpc0_rate(${slot}) ge ${threshold} }`;
    let check: string;
    if (rule.action === 'log') {
      check = `    http-request capture str(rate-limit:${rule.name}) len 64 if ${over}`;
    } else if (DEFAULT_ERROR_STATUSES.has(rule.status)) {
      check = `    http-request deny deny_status ${rule.status} if ${over}`;
    } else {
      check = `    http-request deny status ${rule.status} content-type text/plain string "rate limit exceeded" if ${over}`;
    }
    return {
      rule,
      table,
      tracking,
      check,
      counting: `    http-request sc-inc-gpc0(${slot})`,
      row: {
        setting: `stick-table … store gpc0,gpc0_rate(${period}); track-sc${slot} ${sample}; ${rule.action === 'log' ? 'capture' : 'deny'} if sc_gpc0_rate(${slot}) ge ${threshold}; sc-inc-gpc0(${slot})`,
        reasons: [
          `gpc0_rate(${period}) is a sliding estimate over two fixed periods: a client idle before a period boundary can get up to ${2 * threshold} per ${period} across it`,
          `no separate burst: the threshold is limit + burst (${threshold}), so a steady client also gets up to ${threshold} per ${period}`,
          ...paced.reasons.map((reason) => reason.replace('burst raised', 'burst in the threshold raised')),
        ],
        notes: [
          'only requests let through are counted, so a client over the limit still gets the limit per period',
          ...(rule.match.path || rule.key.some((k) => k.kind === 'path')
            ? [
                'paths are matched and keyed percent-decoded, slashes merged, lower-cased (url_dec,regsub,lower)',
              ]
            : []),
          ...(rule.action === 'log'
            ? ['log-only: the rule name is captured into the log line (%hr) when over the limit']
            : []),
          ...(rule.key.some((k) => k.kind === 'jwt')
            ? [
                'JWT claims are read without verifying the signature; verify tokens before this point',
                rule.key.length === 1
                  ? 'requests without a bearer token or without the claim give an empty key and are not tracked: not limited by this rule'
                  : 'requests without a bearer token or without the claim share a counter with others of the same remaining key',
              ]
            : []),
          ...missingHeaderNote(rule),
        ],
        worstCasePerWindow: 2 * threshold,
        burstAtOnce: threshold,
      },
    };
  },
  render(translated, context) {
    const tracking = translated.flatMap((t) => t.tracking);
    const content = [
      '# Generated by `gossipless edge` from rate-limit rules; regenerate instead of editing.',
      '# Stick tables are local to each HAProxy process: N instances allow N times the limit.',
      'defaults',
      '    mode http',
      '    timeout connect 5s',
      '    timeout client 30s',
      '    timeout server 30s',
      '',
      ...translated.flatMap((t) => t.table),
      'frontend gossipless_edge',
      `    bind ${context.listen}`,
      ...(tracking.length > 0
        ? [`    http-request set-var(${NORMALISED_PATH}) path,url_dec,regsub(/+,/,g),lower`]
        : []),
      ...tracking,
      '    # over-limit checks first, then count what was let through',
      ...translated.map((t) => t.check),
      ...translated.map((t) => t.counting),
      '',
      '    default_backend gossipless_upstream',
      '',
      'backend gossipless_upstream',
      `    server app ${context.upstream}`,
      '',
    ].join('\n');
    return {
      files: [{ path: HAPROXY_FILE, content }],
      notes: [`check with \`haproxy -c -f ${HAPROXY_FILE}\``],
    };
  },
};

function matchConditions(rule: RateLimitRule): string {
  const { path, methods, host } = rule.match;
  return [
    path ? `{ var(${NORMALISED_PATH}) -m beg ${path.toLowerCase()} }` : '',
    methods ? `{ method ${methods.join(' ')} }` : '',
    host ? `{ req.hdr(host),field(1,:) -m str -i ${host} }` : '',
  ]
    .filter((part) => part.length > 0)
    .join(' ');
}
