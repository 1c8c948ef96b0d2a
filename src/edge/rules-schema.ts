/**
 * JSON Schema of the rate-limit rules file, the contract between `gossipless migrate` (which writes
 * `gossipless.rate-limits.json`) and `gossipless edge` (which reads it). Exported so migrate can
 * validate what it writes with the same schema.
 */

const keyPart = {
  type: 'string',
  pattern: "^(ip|path|header:[A-Za-z0-9!#$%&'*+.^_`|~-]+|jwt:[^\\s\"'\\\\{}()]+)$",
} as const;

/** One rule. */
export const rateLimitRuleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'limit', 'window', 'key'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9_-]+$', minLength: 1 },
    limit: { type: 'integer', minimum: 1 },
    window: { type: 'string', pattern: '^[1-9][0-9]*(ms|s|m|h)$' },
    burst: { type: 'integer', minimum: 0 },
    key: {
      oneOf: [keyPart, { type: 'array', items: keyPart, minItems: 1, uniqueItems: true }],
    },
    match: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // No whitespace, quotes, braces, ";", "#" or "?": the prefix is written into proxy configs.
        path: { type: 'string', pattern: '^/[^\\s"\'{};#?\\\\]*$' },
        methods: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
        },
        host: { type: 'string', pattern: '^[A-Za-z0-9.-]+$' },
      },
    },
    action: { type: 'string', enum: ['reject', 'log'] },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    source: { type: 'string' },
    note: { type: 'string' },
  },
} as const;

/** The whole file: `{ "rules": [...] }`, or a bare array of rules. */
export const rateLimitRulesSchema = {
  $id: 'https://gossipless.dev/schemas/rate-limits.json',
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['rules'],
      properties: { rules: { type: 'array', items: rateLimitRuleSchema } },
    },
    { type: 'array', items: rateLimitRuleSchema },
  ],
} as const;

/** One `key` of a rule in the rules file: `ip`, `path`, `header:<name>` or `jwt:<claim>`. */
export type RateLimitKeySpec = 'ip' | 'path' | `header:${string}` | `jwt:${string}`;

/**
 * One rule as written in the rules file (what {@link rateLimitRuleSchema} accepts): what
 * `gossipless migrate` writes and `gossipless edge` reads.
 */
export interface RateLimitFileRule {
  name: string;
  limit: number;
  /** `<n>ms|s|m|h`. */
  window: string;
  burst?: number;
  key: RateLimitKeySpec | RateLimitKeySpec[];
  match?: { path?: string; methods?: string[]; host?: string };
  action?: 'reject' | 'log';
  status?: number;
  /** Where migrate found it: `path:line`. */
  source?: string;
  note?: string;
}
