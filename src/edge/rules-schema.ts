/**
 * JSON Schema of the rate-limit rules file, the contract between `gossipless migrate` (which writes
 * `gossipless.rate-limits.json`) and `gossipless edge` (which reads it). Exported so migrate can
 * validate what it writes with the same schema.
 */

// Every user string that reaches a configuration is limited here to characters every target can
// carry literally (src/edge/config-text.ts escapes what is left per syntax): header names to what
// nginx's $http_<name> can name (it drops headers with "_" by default), claims to URL-like names,
// paths to a plain prefix (no regex, quote, brace, semicolon, backtick or percent sign).
const keyPart = {
  type: 'string',
  maxLength: 128,
  pattern: '^(ip|path|header:[A-Za-z0-9-]+|jwt:[A-Za-z0-9_.:/-]+)$',
} as const;

/** Largest `limit` and `burst`: every target's counter holds it (Envoy's uint32 with room). */
export const MAX_RULE_COUNT = 1_000_000_000;
/** Longest window: 366 days, within every target's duration type (protobuf Duration, Go, C#). */
export const MAX_WINDOW_MS = 366 * 24 * 3_600_000;

/** One rule. */
export const rateLimitRuleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'limit', 'window', 'key'],
  properties: {
    // 48: "rate-limit-<name>" stays within Kubernetes' 63-character object names.
    name: { type: 'string', pattern: '^[a-z0-9_-]+$', minLength: 1, maxLength: 48 },
    limit: { type: 'integer', minimum: 1, maximum: MAX_RULE_COUNT },
    // At most 12 digits; the window's length is bounded by MAX_WINDOW_MS after parsing.
    window: { type: 'string', pattern: '^[1-9][0-9]{0,11}(ms|s|m|h)$' },
    burst: { type: 'integer', minimum: 0, maximum: MAX_RULE_COUNT },
    key: {
      oneOf: [keyPart, { type: 'array', items: keyPart, minItems: 1, uniqueItems: true }],
    },
    match: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // A plain prefix: letters, digits and - . _ ~ / : @ ! , = + only (it is written into nginx
        // locations, HAProxy ACLs, Traefik matchers, WAF regexes and C# strings).
        path: { type: 'string', maxLength: 512, pattern: '^/[A-Za-z0-9._~/:@!,=+-]*$' },
        methods: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
        },
        host: { type: 'string', maxLength: 253, pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$' },
      },
    },
    action: { type: 'string', enum: ['reject', 'log'] },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    // Free text (migrate writes the legacy file path here): written only into comments and the
    // report, through config-text.ts, which keeps it on one line and out of comment terminators.
    source: { type: 'string', maxLength: 1024 },
    note: { type: 'string', maxLength: 1024 },
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
