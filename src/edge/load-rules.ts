import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { GossiplessError } from '@gossipless/runtime/errors';
import { parseWindowMs } from './duration.js';
import type { RateLimitRule, RuleKeyPart } from './model.js';
import { identifierForms } from './config-text.js';
import { MAX_WINDOW_MS, rateLimitRuleSchema, type RateLimitFileRule } from './rules-schema.js';

const ajv = new Ajv({ allErrors: true, strict: true });
const validateRule = ajv.compile(rateLimitRuleSchema);

/** One problem found in a rules file: which rule, which field, what is wrong. */
export interface RuleProblem {
  /** `rule "api" (rules[0])` or `rules[3]` when the rule has no usable name; `file` for the top level. */
  readonly rule: string;
  /** The field, e.g. `window`, `match.methods`. Empty for the rule or file as a whole. */
  readonly field: string;
  readonly message: string;
}

/** Result of {@link validateRateLimitRules}: rules when there are no problems. */
export type RuleValidation =
  | { readonly ok: true; readonly rules: readonly RateLimitRule[] }
  | { readonly ok: false; readonly problems: readonly RuleProblem[] };

/**
 * Validates parsed rules data (a `{ rules: [...] }` object or a bare array) and fills defaults.
 * Every problem names the rule (by name, with its index) and the field.
 *
 * @example
 * ```ts
 * const result = validateRateLimitRules({ rules: [{ name: 'api', limit: 100, window: '30s', key: 'ip' }] });
 * if (result.ok) console.log(result.rules[0].windowMs); // 30000
 * ```
 */
export function validateRateLimitRules(data: unknown): RuleValidation {
  const problems: RuleProblem[] = [];
  let rawRules: unknown[];
  if (Array.isArray(data)) {
    rawRules = data;
  } else if (data !== null && typeof data === 'object') {
    const record = data as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (key !== 'rules') {
        problems.push({
          rule: 'file',
          field: key,
          message: 'unknown top-level key (only "rules" is allowed)',
        });
      }
    }
    if (!Array.isArray(record.rules)) {
      problems.push({ rule: 'file', field: 'rules', message: 'must be an array of rules' });
      return { ok: false, problems };
    }
    rawRules = record.rules;
  } else {
    return {
      ok: false,
      problems: [{ rule: 'file', field: '', message: 'must be an object with "rules" or an array of rules' }],
    };
  }

  const rules: RateLimitRule[] = [];
  const seen = new Map<string, number>();
  rawRules.forEach((raw, index) => {
    const label = ruleLabel(raw, index);
    if (!validateRule(raw)) {
      problems.push(...collapseErrors(validateRule.errors ?? [], label));
      return;
    }
    const rule = raw as RateLimitFileRule;
    const before = seen.get(rule.name);
    if (before !== undefined) {
      problems.push({ rule: label, field: 'name', message: `duplicates the name of rules[${before}]` });
    }
    seen.set(rule.name, index);
    if (rule.action === 'log' && rule.status !== undefined) {
      problems.push({ rule: label, field: 'status', message: 'only applies to action "reject"; remove it' });
    }
    const windowMs = parseWindowMs(rule.window);
    if (windowMs === undefined || windowMs > MAX_WINDOW_MS) {
      problems.push({
        rule: label,
        field: 'window',
        message: `must be at most ${MAX_WINDOW_MS / 3_600_000}h (366 days); split a longer quota into a rule per period`,
      });
      return;
    }
    rules.push(normalise(rule));
  });
  problems.push(...identifierCollisions(rules));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, rules };
}

/**
 * Parses rules from text: JSON, or YAML when `fileName` ends in `.yaml`/`.yml` (YAML is a superset
 * of JSON, so YAML parsing is also the fallback for other names). Throws `INVALID_RULES` listing
 * every problem.
 */
export function parseRateLimitRules(text: string, fileName = 'rules'): readonly RateLimitRule[] {
  let data: unknown;
  const ext = extname(fileName).toLowerCase();
  try {
    data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof YAMLParseError) {
      throw new GossiplessError(
        'INVALID_RULES',
        `${fileName}: not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  const result = validateRateLimitRules(data);
  if (!result.ok) throw new GossiplessError('INVALID_RULES', formatProblems(fileName, result.problems));
  return result.rules;
}

/** Reads and parses a rules file (JSON or YAML). */
export async function loadRateLimitRules(path: string): Promise<readonly RateLimitRule[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new GossiplessError(
        'INVALID_RULES',
        `rules file ${path} does not exist; pass the path of a JSON or YAML rules file`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  return parseRateLimitRules(text, path);
}

/** The message of an `INVALID_RULES` error: one line per problem. */
export function formatProblems(fileName: string, problems: readonly RuleProblem[]): string {
  const lines = problems.map((p) => `  - ${p.rule}${p.field ? `, field "${p.field}"` : ''}: ${p.message}`);
  return `${fileName}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the rate-limit rules:\n${lines.join('\n')}`;
}

function ruleLabel(raw: unknown, index: number): string {
  const name = raw !== null && typeof raw === 'object' ? (raw as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name.length > 0 ? `rule "${name}" (rules[${index}])` : `rules[${index}]`;
}

// Ajv reports a oneOf failure once per branch; people want one line per field, so errors are
// grouped by field and the clearest message of each group is kept.
function collapseErrors(errors: readonly ErrorObject[], label: string): RuleProblem[] {
  const byField = new Map<string, string>();
  for (const error of errors) {
    let field = error.instancePath
      .replace(/^\//, '')
      .replace(/\/(\d+)/g, '[$1]')
      .replace(/\//g, '.');
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'required') {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      field = field ? `${field}.${missing}` : missing;
      message = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      field = field ? `${field}.${extra}` : extra;
      message = 'is not a known field';
    } else if (error.keyword === 'enum') {
      message = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const top = field.split(/[.[]/)[0] ?? field;
    if (top === 'key') {
      field = 'key';
      message =
        'must be "ip", "path", "header:<name>", "jwt:<claim>", or a non-empty array of them without repeats';
    } else if (top === 'window' && error.keyword === 'pattern') {
      message = 'must be a positive integer followed by ms, s, m or h (e.g. "30s", "1m")';
    } else if (top === 'name' && error.keyword === 'pattern') {
      message = 'must use only a-z, 0-9, "-" and "_" (it is used in generated identifiers)';
    } else if (field === 'match.path' && error.keyword === 'pattern') {
      message =
        'must be a plain path prefix starting with "/" using letters, digits and - . _ ~ / : @ ! , = + (no regular expressions, quotes, braces, ";", "%", "?" or backticks: write the decoded path)';
    } else if (field === 'match.host' && error.keyword === 'pattern') {
      message = 'must be a host name (letters, digits, "." and "-")';
    } else if (error.keyword === 'maximum' || error.keyword === 'maxLength') {
      message = `${message} (the largest value every target accepts)`;
    }
    if (!byField.has(field)) byField.set(field, message);
  }
  return [...byField].map(([field, message]) => ({ rule: label, field, message }));
}

// Targets derive identifiers from rule names (nginx gl_api_login, Kubernetes rate-limit-api-login,
// Azure ApiLogin, case-insensitive), so two names that differ only in "-" vs "_" or in where a
// separator sits would collide in the output: nginx refuses a zone bound twice, Traefik silently
// keeps the second Middleware. Refused here, naming both rules.
function identifierCollisions(rules: readonly RateLimitRule[]): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const owners = new Map<string, RateLimitRule>();
  for (const rule of rules) {
    const clashes = new Set<string>();
    for (const form of identifierForms(rule.name)) {
      const owner = owners.get(form);
      if (owner && owner.name !== rule.name) clashes.add(owner.name);
      else owners.set(form, rule);
    }
    for (const other of clashes) {
      problems.push({
        rule: `rule "${rule.name}"`,
        field: 'name',
        message: `becomes the same identifier as rule "${other}" in generated configs (names are compared without "-", "_" and case); rename one of them`,
      });
    }
  }
  return problems;
}

function parseKeyPart(spec: string): RuleKeyPart {
  if (spec === 'ip') return { kind: 'ip' };
  if (spec === 'path') return { kind: 'path' };
  if (spec.startsWith('header:')) return { kind: 'header', name: spec.slice('header:'.length).toLowerCase() };
  return { kind: 'jwt', claim: spec.slice('jwt:'.length) };
}

function normalise(raw: RateLimitFileRule): RateLimitRule {
  const windowMs = parseWindowMs(raw.window);
  // The schema's pattern guarantees a parseable window; this guards the two staying in step.
  if (windowMs === undefined)
    throw new GossiplessError('INTERNAL', `window "${raw.window}" passed the schema but not the parser`);
  const keys = Array.isArray(raw.key) ? raw.key : [raw.key];
  return {
    name: raw.name,
    limit: raw.limit,
    window: raw.window,
    windowMs,
    burst: raw.burst ?? 0,
    key: keys.map(parseKeyPart),
    match: {
      ...(raw.match?.path !== undefined ? { path: raw.match.path } : {}),
      ...(raw.match?.methods !== undefined ? { methods: raw.match.methods } : {}),
      ...(raw.match?.host !== undefined ? { host: raw.match.host.toLowerCase() } : {}),
    },
    action: raw.action ?? 'reject',
    status: raw.status ?? 429,
    ...(raw.source !== undefined ? { source: raw.source } : {}),
    ...(raw.note !== undefined ? { note: raw.note } : {}),
  };
}
