import { Ajv } from 'ajv';
import { rateLimitRulesSchema, type RateLimitFileRule } from '../../src/edge/rules-schema.js';
import type { ExtractedRateLimit } from './types.js';

/** File name of the extracted rules, at the root of the target. `gossipless edge` reads it. */
export const RATE_LIMITS_FILE_NAME = 'gossipless.rate-limits.json';

/** One rule of `gossipless.rate-limits.json` (the contract shared with `gossipless edge`). */
export type RateLimitRule = RateLimitFileRule;

/** A limiter found in one file, with the file it is in. */
export interface LocatedRateLimit extends ExtractedRateLimit {
  /** Path relative to the target, `/`-separated. */
  file: string;
}

// The schema of record, the one `gossipless edge` reads with: migrate never writes a file edge refuses.

let validator: ReturnType<Ajv['compile']> | undefined;

/** Problems with a rules document, empty when it is valid (names must also be unique). */
export function validateRateLimitsDocument(document: unknown): string[] {
  validator ??= new Ajv({ allErrors: true, allowUnionTypes: true }).compile(rateLimitRulesSchema);
  const problems = validator(document)
    ? []
    : (validator.errors ?? []).map(
        (error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`,
      );
  if (problems.length === 0) {
    const names = new Set<string>();
    for (const rule of (document as { rules: RateLimitRule[] }).rules) {
      if (names.has(rule.name)) problems.push(`rule name "${rule.name}" is used twice`);
      names.add(rule.name);
    }
  }
  return problems;
}

/**
 * Turns the limiters found into rules, ordered by file and line, with unique names
 * (`api`, `api-2`, …) so the edge can use them in identifiers.
 */
export function buildRateLimitRules(
  found: readonly LocatedRateLimit[],
  taken: ReadonlySet<string> = new Set(),
): RateLimitRule[] {
  const names = new Set(taken);
  const sorted = [...found].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return sorted.map((limiter) => {
    let name = limiter.name;
    for (let suffix = 2; names.has(name); suffix++) name = `${limiter.name}-${suffix}`;
    names.add(name);
    return {
      name,
      limit: limiter.limit,
      window: limiter.window,
      key: limiter.key,
      source: `${limiter.file}:${limiter.line}`,
      ...(limiter.note === undefined ? {} : { note: limiter.note }),
    };
  });
}

/** The rules file as migrate would leave it, and what happened to the rules. */
export interface RateLimitsFilePlan {
  /** New text of the file, or undefined when there is nothing to write. */
  text: string | undefined;
  /** Rules added by this run. */
  added: RateLimitRule[];
  /** Limiters found whose rule the file already has (same `source` or name): left as the human left them. */
  alreadyPresent: number;
}

/**
 * Merges the limiters found into the existing rules file. Existing rules are never changed or
 * dropped: a human may have fixed a key or a window, and a second run must be a no-op. A limiter is
 * added only when no rule from the same file has its name.
 */
export function planRateLimitsFile(
  existingText: string | undefined,
  found: readonly LocatedRateLimit[],
): RateLimitsFilePlan {
  let existing: RateLimitRule[] = [];
  let bareArray = false;
  if (existingText !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(existingText);
    } catch {
      // JSON.parse quotes the text around the fault; the file's bytes stay out of messages.
      throw new Error('it is not valid JSON');
    }
    bareArray = Array.isArray(parsed);
    existing = (bareArray ? parsed : (parsed as { rules?: unknown }).rules) as RateLimitRule[];
    if (!Array.isArray(existing)) throw new Error('it has no "rules" array');
  }
  // Matched by file and name rather than line: lines move when the code around a limiter is edited.
  const isPresent = (limiter: LocatedRateLimit): boolean =>
    existing.some(
      (rule) =>
        rule.source?.replace(/:\d+$/, '') === limiter.file &&
        (rule.name === limiter.name || new RegExp(`^${limiter.name}-\\d+$`).test(rule.name)),
    );
  const fresh = found.filter((limiter) => !isPresent(limiter));
  const added = buildRateLimitRules(fresh, new Set(existing.map((rule) => rule.name)));
  if (added.length === 0) return { text: undefined, added, alreadyPresent: found.length };
  const rules = [...existing, ...added];
  const document = { rules };
  const problems = validateRateLimitsDocument(document);
  if (problems.length > 0) throw new Error(`the rules would not be valid: ${problems.join('; ')}`);
  const eol = existingText?.includes('\r\n') ? '\r\n' : '\n';
  const text = JSON.stringify(bareArray ? rules : document, null, 2).replace(/\n/g, eol) + eol;
  return { text, added, alreadyPresent: found.length - fresh.length };
}
