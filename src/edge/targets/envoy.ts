import { stringify } from 'yaml';
import { describeDuration, formatDuration } from '../duration.js';
import { escapeRegex } from '../config-text.js';
import type { EdgeFile, RateLimitRule } from '../model.js';
import { describeRate, missingHeaderNote, pacedBurst, statusReason, worstCase } from '../report-row.js';
import type { EdgeTargetShape, TranslatedRule } from '../target-shape.js';

/** Output files of the Envoy target, relative to `--out`. */
export const ENVOY_FILES = {
  local: 'envoy/local-ratelimit-filters.yaml',
  globalEnvoy: 'envoy/global-ratelimit-envoy.yaml',
  service: 'envoy/ratelimit-service-config.yaml',
} as const;

// Envoy rejects token-bucket fill intervals below 50 ms.
const MIN_FILL_MS = 50;
const RULE_KEY = 'gossipless_rule';
// Envoy reads YAML through yaml-cpp, where plain `yes` or `:path` can change meaning; quoting every
// string value removes the doubt.
const YAML_OPTIONS = { lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' } as const;
const MATCH_KEY = 'gossipless_match';
// The filter-wide bucket sits above any rule (limit and burst are at most 1e9 each), inside
// Envoy's uint32 token counts.
const FILTER_WIDE_TOKENS = 4_000_000_000;
const UNITS = [
  { unit: 'second', ms: 1000 },
  { unit: 'minute', ms: 60_000 },
  { unit: 'hour', ms: 3_600_000 },
  { unit: 'day', ms: 86_400_000 },
] as const;

/** What both variants share for one rule: the descriptor it produces and the notes on its key. */
interface RuleShape {
  readonly actions: object[];
  readonly entries: Array<{ key: string; value?: string }>;
  readonly keyNotes: string[];
  readonly pathReasons: string[];
}

/** The local filter's model of one rule: its descriptor, grouped by action and status. */
interface EnvoyLocalRule extends TranslatedRule, LocalMember {
  readonly action: 'reject' | 'log';
  readonly status: number;
}

/** The ratelimit service's model of one rule: the actions Envoy sends and the service's descriptor. */
interface EnvoyGlobalRule extends TranslatedRule {
  readonly actions: object;
  readonly descriptor: object;
}

/**
 * Envoy ≥ 1.34, local variant: per-client token buckets in the local rate limit filter (wildcard
 * descriptors with `max_dynamic_descriptors`, one filter per action/status so log-only rules run
 * unenforced), each for the rule's share of the limit on one Envoy instance.
 */
export const envoyLocalTarget: EdgeTargetShape<EnvoyLocalRule, undefined> = {
  target: 'envoy',
  variant: 'local',
  counterScope: 'per instance',
  refuse(rule) {
    return localBucket(rule)
      ? []
      : [
          `${describeRate(rule.limit, rule.windowMs)} needs a fill interval below Envoy's minimum of ${MIN_FILL_MS} ms`,
        ];
  },
  translate(rule) {
    const shape = describeRule(rule);
    // refuse() has checked that a bucket exists.
    const bucket = localBucket(rule)!;
    return {
      rule,
      action: rule.action,
      status: rule.status,
      fillMs: bucket.fillMs,
      descriptor: {
        entries: shape.entries,
        token_bucket: {
          max_tokens: bucket.maxTokens,
          tokens_per_fill: bucket.tokensPerFill,
          fill_interval: `${bucket.fillMs / 1000}s`,
        },
      },
      rateLimit: { actions: shape.actions },
      row: {
        setting: `descriptor ${RULE_KEY}=${rule.name}: token_bucket { max_tokens: ${bucket.maxTokens}, tokens_per_fill: ${bucket.tokensPerFill}, fill_interval: ${bucket.fillMs / 1000}s }${rule.action === 'log' ? ' (filter_enforced 0%)' : ''}`,
        reasons: [...bucket.reasons, ...shape.pathReasons],
        notes: [
          `token bucket refilled in steps of ${bucket.tokensPerFill} every ${describeDuration(bucket.fillMs)}; a span of one window can see a full bucket plus ${rule.limit} refilled tokens`,
          ...(rule.action === 'log'
            ? ["log-only: over-limit requests pass and are counted in the filter's rate_limited stats"]
            : []),
          ...shape.keyNotes,
        ],
        worstCasePerWindow: worstCase.tokenBucket(
          bucket.maxTokens,
          bucket.tokensPerFill,
          bucket.fillMs,
          rule.windowMs,
        ),
        burstAtOnce: bucket.maxTokens,
      },
    };
  },
  render(translated) {
    return {
      files: [{ path: ENVOY_FILES.local, content: renderLocalFilters(translated) }],
      notes: [
        'local limits need Envoy >= 1.34 (wildcard descriptors with max_dynamic_descriptors); older Envoy rejects the config',
      ],
    };
  },
};

/**
 * Envoy, global variant: the envoyproxy/ratelimit service configuration (fixed windows of one unit,
 * counters in Redis shared by the fleet, so the rule is never divided among instances) and the
 * Envoy side that calls it.
 */
export const envoyGlobalTarget: EdgeTargetShape<EnvoyGlobalRule, undefined> = {
  target: 'envoy',
  variant: 'global',
  counterScope: 'global',
  refuse(rule) {
    return serviceUnit(rule)
      ? []
      : [
          `${describeRate(rule.limit, rule.windowMs)} is slower than 1 per day, the ratelimit service's longest unit`,
        ];
  },
  translate(rule) {
    const shape = describeRule(rule);
    // refuse() has checked that a unit exists.
    const unit = serviceUnit(rule)!;
    let leaf: Record<string, unknown> = {
      key: shape.entries.at(-1)!.key,
      rate_limit: { unit: unit.unit, requests_per_unit: unit.requests },
      ...(rule.action === 'log' ? { shadow_mode: true } : {}),
    };
    for (const entry of shape.entries.slice(0, -1).reverse()) leaf = { ...entry, descriptors: [leaf] };
    return {
      rule,
      actions: { actions: shape.actions },
      descriptor: leaf,
      row: {
        setting: `ratelimit service: ${RULE_KEY}=${rule.name} → ${unit.requests} per ${unit.unit}${rule.action === 'log' ? ', shadow_mode' : ''}`,
        reasons: [
          ...unit.reasons,
          ...(rule.burst > 0
            ? [
                `no burst: the ratelimit service counts fixed windows, the burst of ${rule.burst} is not added`,
              ]
            : []),
          ...statusReason(
            rule,
            429,
            "the ratelimit filter's status is set on the Envoy side (rate_limited_status)",
          ),
          ...shape.pathReasons,
        ],
        notes: [
          'fixed windows aligned to the unit: up to twice the limit across a boundary',
          ...(rule.action === 'log' ? ['log-only: shadow_mode counts and reports without rejecting'] : []),
          ...shape.keyNotes,
        ],
        worstCasePerWindow: worstCase.fixedWindow(unit.requests, unit.ms, rule.windowMs),
        burstAtOnce: unit.requests,
      },
    };
  },
  render(translated) {
    return {
      files: renderGlobalFiles(translated),
      notes: [
        'the ratelimit service answers 429 for every rule; set the status on the Envoy ratelimit filter if you need another',
        'set normalize_path: true and merge_slashes: true on the HttpConnectionManager: path matches are case-insensitive here, but only Envoy itself can percent-decode and merge slashes before the filters run',
      ],
    };
  },
};

function describeRule(rule: RateLimitRule): RuleShape {
  return {
    actions: descriptorActions(rule),
    entries: [
      { key: RULE_KEY, value: rule.name },
      ...(hasMatch(rule) ? [{ key: MATCH_KEY, value: 'matched' }] : []),
      ...rule.key.map((part) => ({ key: entryKey(part) })),
    ],
    keyNotes: [
      ...(rule.key.some((k) => k.kind === 'jwt')
        ? [
            'needs the jwt_authn filter before this one with payload_in_metadata: jwt_payload (the claim is read from verified tokens)',
            'requests without the claim produce no descriptor and are not limited by this rule',
          ]
        : []),
      ...missingHeaderNote(rule).map((note) =>
        note.replace('are not limited', 'produce no descriptor and are not limited'),
      ),
      ...(rule.match.path ? ['path prefix matched ignoring case (ignore_case: true)'] : []),
    ],
    pathReasons: rule.key.some((k) => k.kind === 'path')
      ? ['key path is the :path header, which includes the query string and keeps case']
      : [],
  };
}

const HEADER = '# Generated by `gossipless edge` from rate-limit rules; regenerate instead of editing.\n';

function renderLocalFilters(translated: readonly EnvoyLocalRule[]): string {
  // One filter per action and status (log-only rules run unenforced), in order of first use.
  const groups = new Map<string, { action: 'reject' | 'log'; status: number; members: LocalMember[] }>();
  for (const member of translated) {
    const groupKey = `${member.action}-${member.action === 'log' ? 0 : member.status}`;
    const group = groups.get(groupKey) ?? { action: member.action, status: member.status, members: [] };
    groups.set(groupKey, group);
    group.members.push(member);
  }
  const filters = [...groups.values()].flatMap((group) =>
    byCommonFillInterval(group.members).map((part, index) => ({ ...group, ...part, index })),
  );
  const httpFilters = filters.map((group) => ({
    name: 'envoy.filters.http.local_ratelimit',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
      stat_prefix: `gossipless_${group.action}_${group.action === 'log' ? 'only' : group.status}${group.index > 0 ? `_${group.index + 1}` : ''}`,
      // The filter-wide bucket is set far above any rule so that only the per-rule descriptors
      // limit. Its fill interval drives every descriptor's refill, so Envoy requires each
      // descriptor's interval to be a multiple of it.
      token_bucket: {
        max_tokens: FILTER_WIDE_TOKENS,
        tokens_per_fill: FILTER_WIDE_TOKENS,
        fill_interval: `${group.fillMs / 1000}s`,
      },
      filter_enabled: {
        runtime_key: 'gossipless_rate_limit_enabled',
        default_value: { numerator: 100, denominator: 'HUNDRED' },
      },
      filter_enforced: {
        runtime_key: `gossipless_rate_limit_enforced_${group.action}`,
        default_value: { numerator: group.action === 'log' ? 0 : 100, denominator: 'HUNDRED' },
      },
      ...(group.action === 'reject' ? { status: { code: group.status } } : {}),
      max_dynamic_descriptors: 10_000,
      descriptors: group.members.map((m) => m.descriptor),
      rate_limits: group.members.map((m) => m.rateLimit),
    },
  }));
  return (
    HEADER +
    '# Envoy >= 1.34. Put these entries in the HttpConnectionManager http_filters list, before\n' +
    '# envoy.filters.http.router. Buckets are per Envoy instance: N instances allow N times the limit.\n' +
    stringify({ http_filters: httpFilters }, YAML_OPTIONS)
  );
}

function renderGlobalFiles(translated: readonly EnvoyGlobalRule[]): EdgeFile[] {
  return [
    {
      path: ENVOY_FILES.globalEnvoy,
      content:
        HEADER +
        '# Envoy side of the global limit: the ratelimit filter (in http_filters, before the router)\n' +
        '# and the actions to add to your virtual host. Cluster "ratelimit" must point at the service (gRPC).\n' +
        stringify(
          {
            http_filters: [
              {
                name: 'envoy.filters.http.ratelimit',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit',
                  domain: 'gossipless',
                  failure_mode_deny: false,
                  enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
                  rate_limit_service: {
                    grpc_service: { envoy_grpc: { cluster_name: 'ratelimit' } },
                    transport_api_version: 'V3',
                  },
                },
              },
            ],
            virtual_host: { rate_limits: translated.map((t) => t.actions) },
          },
          YAML_OPTIONS,
        ),
    },
    {
      path: ENVOY_FILES.service,
      content:
        HEADER +
        '# Configuration for github.com/envoyproxy/ratelimit (counters in Redis, shared by every Envoy).\n' +
        stringify({ domain: 'gossipless', descriptors: translated.map((t) => t.descriptor) }, YAML_OPTIONS),
    },
  ];
}

interface LocalMember {
  fillMs: number;
  descriptor: object;
  rateLimit: object;
}

// Envoy refills descriptor buckets on the filter's own timer: a descriptor's fill_interval must be
// a multiple of the filter-wide one ("local rate descriptor limit is not a multiple of token bucket
// fill timer"), which must itself be at least 50 ms. Rules share a filter while the greatest common
// divisor of their intervals stays at or above 50 ms; the rest go to further filters.
function byCommonFillInterval(
  members: readonly LocalMember[],
): Array<{ fillMs: number; members: LocalMember[] }> {
  const parts: Array<{ fillMs: number; members: LocalMember[] }> = [];
  for (const member of members) {
    const part = parts.find((p) => gcd(p.fillMs, member.fillMs) >= MIN_FILL_MS);
    if (part) {
      part.fillMs = gcd(part.fillMs, member.fillMs);
      part.members.push(member);
    } else parts.push({ fillMs: member.fillMs, members: [member] });
  }
  return parts;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function hasMatch(rule: RateLimitRule): boolean {
  return Boolean(rule.match.path || rule.match.methods || rule.match.host);
}

function entryKey(part: RateLimitRule['key'][number]): string {
  switch (part.kind) {
    case 'ip':
      return 'remote_address';
    case 'path':
      return 'path';
    case 'header':
      return `header_${part.name}`;
    case 'jwt':
      return `jwt_${part.claim}`;
  }
}

function descriptorActions(rule: RateLimitRule): object[] {
  const actions: object[] = [{ generic_key: { descriptor_key: RULE_KEY, descriptor_value: rule.name } }];
  if (hasMatch(rule)) {
    const headers: object[] = [];
    if (rule.match.path)
      headers.push({ name: ':path', string_match: { prefix: rule.match.path, ignore_case: true } });
    if (rule.match.methods)
      headers.push({
        name: ':method',
        string_match: { safe_regex: { regex: `^(${rule.match.methods.join('|')})$` } },
      });
    if (rule.match.host)
      headers.push({
        name: ':authority',
        string_match: { safe_regex: { regex: `^${escapeRegex(rule.match.host)}(:[0-9]+)?$` } },
      });
    actions.push({
      header_value_match: {
        descriptor_key: MATCH_KEY,
        descriptor_value: 'matched',
        expect_match: true,
        headers,
      },
    });
  }
  for (const part of rule.key) {
    switch (part.kind) {
      case 'ip':
        actions.push({ remote_address: {} });
        break;
      case 'path':
        actions.push({ request_headers: { header_name: ':path', descriptor_key: 'path' } });
        break;
      case 'header':
        actions.push({ request_headers: { header_name: part.name, descriptor_key: entryKey(part) } });
        break;
      case 'jwt':
        actions.push({
          metadata: {
            descriptor_key: entryKey(part),
            metadata_key: {
              key: 'envoy.filters.http.jwt_authn',
              path: [{ key: 'jwt_payload' }, { key: part.claim }],
            },
            source: 'DYNAMIC',
          },
        });
        break;
    }
  }
  return actions;
}

interface LocalBucket {
  maxTokens: number;
  tokensPerFill: number;
  fillMs: number;
  reasons: string[];
}

// Refill one token every window/limit when Envoy allows it (the closest to a smooth rate); else
// the finest whole split of the window whose interval is at least 50 ms. The number of steps must
// divide both the limit and the window, so it is a divisor of their gcd: those are enumerated up
// to its square root, never counted down one by one (a limit of 3e9 took 23 s that way).
function localBucket(rule: RateLimitRule): LocalBucket | undefined {
  const common = gcd(rule.limit, rule.windowMs);
  const maxSteps = Math.floor(rule.windowMs / MIN_FILL_MS);
  let steps = 0;
  for (let d = 1; d * d <= common; d += 1) {
    if (common % d !== 0) continue;
    for (const candidate of [d, common / d])
      if (candidate <= maxSteps && candidate > steps) steps = candidate;
  }
  if (steps === 0) return undefined;
  const fillMs = rule.windowMs / steps;
  const tokensPerFill = rule.limit / steps;
  const paced = pacedBurst(rule);
  return {
    maxTokens: paced.burst + tokensPerFill,
    tokensPerFill,
    fillMs,
    reasons: [
      ...(tokensPerFill > 1
        ? [
            `refills ${tokensPerFill} tokens every ${describeDuration(fillMs)} instead of one every ${(rule.windowMs / rule.limit).toFixed(1)} ms (Envoy's minimum fill interval is ${MIN_FILL_MS} ms)`,
          ]
        : []),
      ...paced.reasons,
    ],
  };
}

interface ServiceUnit {
  unit: string;
  ms: number;
  requests: number;
  reasons: string[];
}

// Prefer the longest unit not longer than the window (narrowing is stricter); widen only when the
// rule allows less than one request per that unit.
function serviceUnit(rule: RateLimitRule): ServiceUnit | undefined {
  const exact = UNITS.find((u) => u.ms === rule.windowMs);
  if (exact) return { unit: exact.unit, ms: exact.ms, requests: rule.limit, reasons: [] };
  const narrower = [...UNITS]
    .reverse()
    .find((u) => u.ms < rule.windowMs && Math.floor((rule.limit * u.ms) / rule.windowMs) >= 1);
  if (narrower) {
    const requests = Math.floor((rule.limit * narrower.ms) / rule.windowMs);
    return {
      unit: narrower.unit,
      ms: narrower.ms,
      requests,
      reasons: [
        `${describeRate(rule.limit, rule.windowMs)} → ${requests} per ${narrower.unit}: window narrowed (units are second, minute, hour, day)${(rule.limit * narrower.ms) % rule.windowMs !== 0 ? ', rounded down' : ''}`,
      ],
    };
  }
  const wider = UNITS.find((u) => u.ms > rule.windowMs);
  if (!wider) return undefined;
  const requests = Math.floor((rule.limit * wider.ms) / rule.windowMs);
  return {
    unit: wider.unit,
    ms: wider.ms,
    requests,
    reasons: [
      `${describeRate(rule.limit, rule.windowMs)} → ${requests} per ${wider.unit}: window widened to ${formatDuration(wider.ms)}`,
    ],
  };
}
