import { describeDuration } from './duration.js';
import type {
  CounterScope,
  EdgeContext,
  EdgeTarget,
  RateLimitRule,
  ReportRow,
  RuleKeyPart,
} from './model.js';

/**
 * Worst cases of the counting schemes edges use, for one client on one counter within any span of
 * `windowMs` (a half-open interval, so a span of exactly one period contains one refill, not two).
 */
export const worstCase = {
  /**
   * Fixed windows of `periodMs` with `threshold` each (Front Door, envoyproxy/ratelimit): a span can
   * touch `ceil(window / period) + 1` windows, each allowing the full threshold — the well-known
   * 2× at a window boundary.
   */
  fixedWindow(threshold: number, periodMs: number, windowMs: number): number {
    return threshold * (Math.ceil(windowMs / periodMs) + 1);
  },
  /** A true sliding window of `periodMs`: never more than `threshold` in any period. */
  slidingWindow(threshold: number, periodMs: number, windowMs: number): number {
    return threshold * Math.ceil(windowMs / periodMs);
  },
  /**
   * nginx's leaky bucket: `burst + 1` at once from idle, then one per `1 / rate`. `rateMilli` is the
   * rate nginx keeps internally, in thousandths of a request per second.
   */
  leakyBucket(rateMilli: number, burst: number, windowMs: number): number {
    return burst + Math.ceil((rateMilli * windowMs) / 1_000_000);
  },
  /** A token bucket full at the start, refilled `tokensPerFill` every `fillMs` (Envoy local). */
  tokenBucket(maxTokens: number, tokensPerFill: number, fillMs: number, windowMs: number): number {
    return maxTokens + tokensPerFill * Math.ceil(windowMs / fillMs);
  },
};

/** What one client may get per window under the rule as written: the yardstick for every target. */
export function intendedPerWindow(rule: RateLimitRule): number {
  return rule.limit + rule.burst;
}

/** Builds a report row; the fleet bound follows from the scope and `context.instances`. */
export function reportRow(
  rule: RateLimitRule,
  target: EdgeTarget,
  context: EdgeContext,
  fields: {
    variant?: string;
    setting: string;
    reasons?: readonly string[];
    notes?: readonly string[];
    worstCasePerWindow: number;
    burstAtOnce: number;
    counterScope: CounterScope;
  },
): ReportRow {
  const reasons = fields.reasons ?? [];
  return {
    rule: rule.name,
    target,
    ...(fields.variant !== undefined ? { variant: fields.variant } : {}),
    fidelity: reasons.length > 0 ? 'approximated' : 'exact',
    setting: fields.setting,
    reasons,
    notes: fields.notes ?? [],
    worstCasePerWindow: fields.worstCasePerWindow,
    burstAtOnce: fields.burstAtOnce,
    counterScope: fields.counterScope,
    fleetBound:
      fields.counterScope === 'global'
        ? fields.worstCasePerWindow
        : fields.worstCasePerWindow * context.instances,
  };
}

/** A row for a rule the target cannot express; `reasons` say why, so nothing is dropped silently. */
export function refusedRow(
  rule: RateLimitRule,
  target: EdgeTarget,
  reasons: readonly string[],
  variant?: string,
): ReportRow {
  return {
    rule: rule.name,
    target,
    ...(variant !== undefined ? { variant } : {}),
    fidelity: 'refused',
    setting: '',
    reasons,
    notes: [],
    worstCasePerWindow: null,
    burstAtOnce: null,
    counterScope: null,
    fleetBound: null,
  };
}

/** `100 per 30 s` */
export function describeRate(limit: number, windowMs: number): string {
  return `${limit} per ${describeDuration(windowMs)}`;
}

/** `header:x-api-key` etc., as written in rules files. */
export function describeKeyPart(part: RuleKeyPart): string {
  switch (part.kind) {
    case 'ip':
      return 'ip';
    case 'path':
      return 'path';
    case 'header':
      return `header:${part.name}`;
    case 'jwt':
      return `jwt:${part.claim}`;
  }
}

/** The key in words, for reasons. */
export function describeKey(rule: RateLimitRule): string {
  return rule.key.map(describeKeyPart).join(' + ');
}

/** True when the key is exactly the client IP. */
export function isIpOnly(rule: RateLimitRule): boolean {
  return rule.key.length === 1 && rule.key[0]?.kind === 'ip';
}

/** Reason used when a target answers a fixed or policy-wide status other than the rule's. */
export function statusReason(rule: RateLimitRule, actual: number, why: string): string[] {
  return rule.action === 'reject' && rule.status !== actual
    ? [`answers ${actual}, not ${rule.status}: ${why}`]
    : [];
}

/** Reason for a header key: a request without the header is not limited by that counter. */
export function missingHeaderNote(rule: RateLimitRule): string[] {
  return rule.key
    .filter((part): part is Extract<RuleKeyPart, { kind: 'header' }> => part.kind === 'header')
    .map((part) =>
      rule.key.length === 1
        ? `requests without the ${part.name} header are not limited by this rule`
        : `requests without the ${part.name} header share a counter with others of the same remaining key`,
    );
}

/** `api-per-client` → `ApiPerClient` (Azure rule names allow letters and digits only). */
export function pascalIdentifier(name: string): string {
  const id = name
    .split(/[-_]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
  return /^[A-Za-z]/.test(id) ? id : `Rl${id}`;
}

/** `api-per-client` → `api_per_client` (nginx variables, HAProxy names). */
export function snakeIdentifier(name: string): string {
  return name.replace(/-/g, '_');
}

/** Escapes a string for use inside a regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `rate-limit-<name>` as a Kubernetes object name (DNS-1123: lower-case letters, digits and "-",
 * ending in a letter or digit); rule names may hold "_" and end in "-".
 */
export function kubernetesName(name: string): string {
  return `rate-limit-${name.replace(/_/g, '-')}`.replace(/-+$/, '');
}
