import { describeDuration } from '../duration.js';
import type { EdgeContext, RateLimitRule, ReportRow, RuleKeyPart, TargetPlan } from '../model.js';
import { csharpString, xmlAttribute, xmlComment } from '../config-text.js';
import {
  counterRule,
  describeRate,
  missingHeaderNote,
  refusedRow,
  reportRow,
  shareRefusal,
  statusReason,
  worstCase,
} from '../report-row.js';

/** Output file of the API Management target, relative to `--out`. */
export const APIM_FILE = 'azure-apim/policy.xml';

// The request path as the old in-app limiter behind Express saw it: percent-decoded, repeated
// slashes merged, lower-case (WebUtility and Regex are among the types policy expressions allow).
const NORMALISED_PATH =
  'System.Text.RegularExpressions.Regex.Replace(System.Net.WebUtility.UrlDecode(context.Request.OriginalUrl.Path), "/+", "/").ToLowerInvariant()';

// rate-limit-by-key's calls is a 32-bit integer.
const MAX_CALLS = 2_147_483_647;
// rate-limit-by-key's renewal-period is whole seconds, at most 300.
const MAX_PERIOD_S = 300;

/**
 * Azure API Management: a policy document whose inbound section has one `rate-limit-by-key` per
 * rule (counter key prefixed with the rule name so rules never share counters), wrapped in a
 * `choose` when the rule matches only some requests.
 */
export function planAzureApim(rules: readonly RateLimitRule[], context: EdgeContext): TargetPlan {
  const rows: ReportRow[] = [];
  const inbound: string[] = [];
  for (const original of rules) {
    const rule = counterRule(original, context);
    if (!rule) {
      rows.push(refusedRow(original, 'azure-apim', [shareRefusal(original, context)]));
      continue;
    }
    if (rule.action === 'log') {
      rows.push(
        refusedRow(rule, 'azure-apim', [
          'rate-limit-by-key always rejects over-limit calls with 429; API Management has no log-only mode for it',
        ]),
      );
      continue;
    }
    const period = renewal(rule);
    if (period && period.calls > MAX_CALLS) {
      rows.push(
        refusedRow(rule, 'azure-apim', [
          `${describeRate(rule.limit, rule.windowMs)} scales to ${period.calls} calls per ${period.seconds} s, above rate-limit-by-key's largest calls value (${MAX_CALLS})`,
        ]),
      );
      continue;
    }
    if (!period) {
      rows.push(
        refusedRow(rule, 'azure-apim', [
          `${describeRate(rule.limit, rule.windowMs)} is less than 1 call per ${MAX_PERIOD_S} s, rate-limit-by-key's longest renewal-period (quota-by-key counts longer periods, answering 403)`,
        ]),
      );
      continue;
    }
    const counterKey = `@(${[csharpString(`${rule.name}:`), ...rule.key.map(keyExpression)].join(' + "|" + ').replace(' + "|" + ', ' + ')})`;
    const element = `<rate-limit-by-key calls="${period.calls}" renewal-period="${period.seconds}" counter-key="${xmlAttribute(counterKey)}" />`;
    const condition = matchCondition(rule);
    inbound.push(
      `        <!-- ${xmlComment(`rule ${rule.name}: ${describeRate(rule.limit, rule.windowMs)}${rule.source ? ` (from ${rule.source})` : ''}`)} -->`,
    );
    if (condition) {
      inbound.push(
        '        <choose>',
        `            <when condition="${xmlAttribute(`@(${condition})`)}">`,
        `                ${element}`,
        '            </when>',
        '        </choose>',
      );
    } else {
      inbound.push(`        ${element}`);
    }
    rows.push(
      reportRow(rule, 'azure-apim', context, {
        setting: `rate-limit-by-key calls="${period.calls}" renewal-period="${period.seconds}" counter-key="${counterKey}"`,
        reasons: [
          ...period.reasons,
          ...(rule.burst > 0
            ? [`no burst: rate-limit-by-key counts a sliding window, the burst of ${rule.burst} is not added`]
            : []),
          ...statusReason(rule, 429, 'rate-limit-by-key always answers 429'),
        ],
        notes: [
          'sliding window; Azure says rate limiting is never completely accurate across its distributed throttling',
          'counters are kept per gateway region (and per self-hosted gateway unless synchronised); --instances counts regions',
          ...(rule.key.some((k) => k.kind === 'jwt')
            ? ['the claim is read with AsJwt() without validation: put validate-jwt before this policy']
            : []),
          ...missingHeaderNote(rule).map((note) =>
            note.replace('are not limited by this rule', 'share one counter (empty key value)'),
          ),
          ...(rule.key.some((k) => k.kind === 'jwt')
            ? [
                'requests without a token or without the claim share one counter (empty key value): they are limited together, as one client',
              ]
            : []),
          ...(rule.match.path
            ? ['path matched percent-decoded, slashes merged, case-insensitively (policy expression)']
            : []),
        ],
        worstCasePerWindow: worstCase.slidingWindow(period.calls, period.seconds * 1000, rule.windowMs),
        burstAtOnce: period.calls,
        counterScope: 'per region',
      }),
    );
  }
  const content = [
    '<!-- Generated by `gossipless edge` from rate-limit rules; regenerate instead of editing. -->',
    '<!-- Paste the inbound rules into your API (or product/global) policy, after <base />. -->',
    '<policies>',
    '    <inbound>',
    '        <base />',
    ...inbound,
    '    </inbound>',
    '    <backend>',
    '        <base />',
    '    </backend>',
    '    <outbound>',
    '        <base />',
    '    </outbound>',
    '    <on-error>',
    '        <base />',
    '    </on-error>',
    '</policies>',
    '',
  ].join('\n');
  return {
    target: 'azure-apim',
    files: [{ path: APIM_FILE, content }],
    rows,
    notes: [
      `apply with \`az apim api policy …\` or the portal's policy editor; the file is a complete <policies> document (${APIM_FILE})`,
    ],
  };
}

interface Renewal {
  calls: number;
  seconds: number;
  reasons: string[];
}

function renewal(rule: RateLimitRule): Renewal | undefined {
  const exactSeconds = rule.windowMs / 1000;
  if (Number.isInteger(exactSeconds) && exactSeconds <= MAX_PERIOD_S) {
    return { calls: rule.limit, seconds: exactSeconds, reasons: [] };
  }
  // Sub-second windows widen to 1 s; longer or fractional ones narrow (stricter, never looser).
  const seconds = rule.windowMs < 1000 ? 1 : Math.min(MAX_PERIOD_S, Math.floor(exactSeconds));
  const scaled = (rule.limit * seconds * 1000) / rule.windowMs;
  const calls = Math.floor(scaled);
  if (calls < 1) return undefined;
  return {
    calls,
    seconds,
    reasons: [
      `${describeRate(rule.limit, rule.windowMs)} → ${calls} per ${describeDuration(seconds * 1000)}: window ${seconds * 1000 > rule.windowMs ? 'widened' : 'narrowed'} (renewal-period is whole seconds, at most ${MAX_PERIOD_S})${Number.isInteger(scaled) ? '' : ', rounded down'}`,
    ],
  };
}

function keyExpression(part: RuleKeyPart): string {
  switch (part.kind) {
    case 'ip':
      return 'context.Request.IpAddress';
    case 'path':
      return NORMALISED_PATH;
    case 'header':
      return `context.Request.Headers.GetValueOrDefault(${csharpString(part.name)}, "")`;
    case 'jwt':
      return `(context.Request.Headers.GetValueOrDefault("Authorization", "").AsJwt()?.Claims.GetValueOrDefault(${csharpString(part.claim)}, "") ?? "")`;
  }
}

function matchCondition(rule: RateLimitRule): string | undefined {
  const { path, methods, host } = rule.match;
  const parts = [
    path ? `${NORMALISED_PATH}.StartsWith(${csharpString(path.toLowerCase())})` : '',
    methods ? `(${methods.map((m) => `context.Request.Method == ${csharpString(m)}`).join(' || ')})` : '',
    host ? `context.Request.OriginalUrl.Host.ToLowerInvariant() == ${csharpString(host)}` : '',
  ].filter((p) => p.length > 0);
  return parts.length > 0 ? parts.join(' && ') : undefined;
}
