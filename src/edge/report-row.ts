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

/**
 * The burst a bucket target (nginx, Traefik, Envoy local) emits: the rule's own, raised to a tenth
 * of the limit when smaller. A bucket that refills one request every `window / limit` rejects a
 * client pacing just under the limit as soon as two of its requests arrive a little closer than
 * that (timer and network jitter); a tenth of the limit absorbs bunching of up to a tenth of the
 * window, and a client at 150 % still gets at most `limit + burst` per window. The raise is a
 * stated reason, so the row is labelled approximated unless the rule already asked for it.
 */
export function pacedBurst(rule: RateLimitRule): { burst: number; reasons: string[] } {
  const allowance = Math.ceil(rule.limit / 10);
  if (rule.burst >= allowance) return { burst: rule.burst, reasons: [] };
  return {
    burst: allowance,
    reasons: [
      `burst raised from ${rule.burst} to ${allowance} (a tenth of the limit) so a client pacing at 90 % of the limit is not rejected for timing jitter; write "burst": ${allowance} or more in the rule to make this exact`,
    ],
  };
}

/**
 * The rule as one counter should enforce it. With `divideAmongInstances`, a counter that is not
 * global gets `floor(limit / instances)` (and the burst likewise), so N counters together stay
 * within the rule; undefined when the share would be below 1. Otherwise the rule itself.
 */
export function counterRule(rule: RateLimitRule, context: EdgeContext): RateLimitRule | undefined {
  if (!context.divideAmongInstances || context.instances === 1) return rule;
  const limit = Math.floor(rule.limit / context.instances);
  if (limit < 1) return undefined;
  return { ...rule, limit, burst: Math.floor(rule.burst / context.instances) };
}

/** Reason used when {@link counterRule} leaves nothing for one counter. */
export function shareRefusal(rule: RateLimitRule, context: EdgeContext): string {
  return `${rule.limit} divided among ${context.instances} instances (--divide-by-instances) is less than 1 per counter; lower --instances or raise the limit`;
}

/**
 * The one labelling rule, applied to every target's rows: a row is exact when nothing was
 * approximated and one client cannot get more than the rule intends (`limit + burst` per window)
 * across the fleet; otherwise approximated, with the tolerance stated as a reason.
 */
export function labelRow(row: ReportRow, rule: RateLimitRule, context: EdgeContext): ReportRow {
  if (row.fidelity === 'refused' || row.worstCasePerWindow === null) return row;
  const intended = intendedPerWindow(rule);
  const divided = context.divideAmongInstances && context.instances > 1 && row.counterScope !== 'global';
  const fleetBound =
    row.counterScope === 'global' ? row.worstCasePerWindow : row.worstCasePerWindow * context.instances;
  const reasons = [...row.reasons];
  if (divided && rule.limit % context.instances !== 0) {
    reasons.unshift(
      `limit ${rule.limit} divided among ${context.instances} instances: ${Math.floor(rule.limit / context.instances)} per counter (rounded down)`,
    );
  }
  if (fleetBound > intended) {
    const scope =
      context.instances > 1 && row.counterScope !== 'global' ? ` across ${context.instances} instances` : '';
    reasons.push(
      `tolerance: one client can get up to ${fleetBound} per ${describeDuration(rule.windowMs)}${scope}, ${intended} intended (+${Math.round(((fleetBound - intended) / intended) * 100)} %)${scope && !divided ? '; pass --divide-by-instances to split the limit' : ''}`,
    );
  }
  return {
    ...row,
    fidelity: reasons.length > 0 ? 'approximated' : 'exact',
    reasons,
    fleetBound,
  };
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

/**
 * `rate-limit-<name>` as a Kubernetes object name (DNS-1123: lower-case letters, digits and "-",
 * ending in a letter or digit); rule names may hold "_" and end in "-".
 */
export function kubernetesName(name: string): string {
  return `rate-limit-${name.replace(/_/g, '-')}`.replace(/-+$/, '');
}
