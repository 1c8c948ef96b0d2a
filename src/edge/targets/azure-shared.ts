import { bicepString } from '../config-text.js';
import { describeDuration } from '../duration.js';
import type { RateLimitRule } from '../model.js';
import { describeRate } from '../report-row.js';

/** Statuses Front Door and Application Gateway accept for `customBlockResponseStatusCode`. */
export const WAF_BLOCK_STATUSES = new Set([200, 403, 405, 406, 429]);

/** A WAF rate-limit window: Azure WAFs count over 1 or 5 minutes only. */
export interface WafWindow {
  readonly minutes: 1 | 5;
  readonly threshold: number;
  readonly reasons: readonly string[];
}

/**
 * Maps a rule onto a 1- or 5-minute WAF window. Windows up to 1 minute widen to 1 minute with the
 * threshold scaled up; longer ones narrow to the longest window that keeps a threshold ≥ 1, which is
 * stricter than the rule, never looser.
 */
export function wafWindow(rule: RateLimitRule, product: string): WafWindow | undefined {
  const scaled = (minutes: 1 | 5) => (rule.limit * minutes * 60_000) / rule.windowMs;
  const make = (minutes: 1 | 5, verb: string): WafWindow => {
    const exact = scaled(minutes);
    const threshold = Math.floor(exact);
    return {
      minutes,
      threshold,
      reasons:
        rule.windowMs === minutes * 60_000
          ? []
          : [
              `${describeRate(rule.limit, rule.windowMs)} → ${product} ${threshold} per ${minutes} min: window ${verb}${Number.isInteger(exact) ? '' : ', threshold rounded down'}`,
            ],
    };
  };
  if (rule.windowMs <= 60_000) return make(1, 'widened');
  if (rule.windowMs === 300_000) return make(5, 'kept');
  if (rule.windowMs < 300_000) return scaled(1) >= 1 ? make(1, 'narrowed') : make(5, 'widened');
  if (scaled(5) >= 1) return make(5, 'narrowed');
  return undefined;
}

/** Azure WAF thresholds are 32-bit integers. */
export const MAX_WAF_THRESHOLD = 2_147_483_647;

/** Reason used when the scaled threshold does not fit Azure's 32-bit field. */
export function wafThresholdRefusal(rule: RateLimitRule, threshold: number, product: string): string {
  return `${describeRate(rule.limit, rule.windowMs)} scales to ${threshold} per window, above ${product}'s largest rateLimitThreshold (${MAX_WAF_THRESHOLD})`;
}

/** Reason used when a WAF cannot express a window at all. */
export function wafWindowRefusal(rule: RateLimitRule, product: string): string {
  return `${describeRate(rule.limit, rule.windowMs)} is less than 1 request per 5 min, ${product}'s longest window (the rule's window is ${describeDuration(rule.windowMs)})`;
}

/** Azure WAF custom-rule names: letters and digits, starting with a letter, at most 128. */
export function wafRuleName(name: string): string {
  const id = name
    .split(/[-_]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
  return (/^[A-Za-z]/.test(id) ? id : `Rl${id}`).slice(0, 128);
}

/**
 * Serialises a JSON value as Bicep. Bicep's object and array literals are line-separated, and its
 * strings are single-quoted with `\'`, `\\` and `\${` escapes.
 */
export function toBicep(value: unknown, indent = ''): string {
  const inner = `${indent}  `;
  if (value === null) return 'null';
  if (typeof value === 'string') return bicepString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => `${inner}${toBicep(item, inner)}`).join('\n')}\n${indent}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries
      .map(
        ([key, v]) =>
          `${inner}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : bicepString(key)}: ${toBicep(v, inner)}`,
      )
      .join('\n')}\n${indent}}`;
  }
  throw new TypeError(`cannot write ${typeof value} as Bicep`);
}
