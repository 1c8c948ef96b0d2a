import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

// Envoy's API protos as shipped in the npm tarball of @grpc/grpc-js-xds (deps/), the only copy
// reachable from this project's machines: no Envoy binary or envoyproxy package can be installed.
const require = createRequire(import.meta.url);
const XDS_PACKAGE_DIR = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
const INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) =>
  join(XDS_PACKAGE_DIR, 'deps', dir),
);

/** The version of @grpc/grpc-js-xds whose `deps/envoy-api` protos the checker loads. */
export const ENVOY_PROTOS_SOURCE = `@grpc/grpc-js-xds@${
  (JSON.parse(readFileSync(join(XDS_PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version
}`;

/** One finding: where in the document (`http_filters[0].typed_config.token_bucket`) and what is wrong. */
export interface EnvoyProtoIssue {
  readonly path: string;
  readonly message: string;
}

/** A protoc-gen-validate rule set as protobufjs parses `[(validate.rules) = {...}]`. */
type Rules = Record<string, Record<string, unknown> | undefined>;

const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};
const WELL_KNOWN = new Set([
  'google.protobuf.Any',
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.FieldMask',
  'google.protobuf.Struct',
  'google.protobuf.ListValue',
  'google.protobuf.Value',
  ...Object.keys(WRAPPERS),
]);
const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
// protobuf's JSON mapping: seconds with up to 9 fractional digits and a trailing "s".
const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const MAX_DURATION_SECONDS = 315_576_000_000;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
// PGV's well-known regexes, as protoc-gen-validate documents them; `strict: false` only forbids
// NUL, CR and LF.
const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const HEADER_VALUE = { test: (v: string) => ![...v].some((c) => isControl(c)) };
const NO_NUL_CR_LF = { test: (v: string) => ![...v].some((c) => c === '\0' || c === '\n' || c === '\r') };

// HTTP field values allow TAB but no other C0 control character nor DEL.
function isControl(char: string): boolean {
  const code = char.codePointAt(0)!;
  return (code < 0x20 && code !== 0x09) || code === 0x7f;
}

/**
 * Fields that Envoy ≥ 1.34 has and the protos in @grpc/grpc-js-xds 1.14 predate (that copy stops at
 * `LocalRateLimit` field 16). Each entry states an API fact from Envoy's `local_rate_limit.proto` /
 * `ratelimit.proto` on main and its 1.33/1.34 release notes; field numbers play no part in checking
 * JSON. Applied only when the field is missing, so a newer proto copy takes precedence.
 */
const ENVOY_134_DELTA: ReadonlyArray<{
  type: string;
  field: string;
  id: number;
  fieldType: string;
  rule?: 'repeated';
  rules?: Rules;
}> = [
  // 1.33: actions that build descriptors inside the filter instead of on the route.
  {
    type: 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
    field: 'rate_limits',
    id: 17,
    fieldType: 'envoy.config.route.v3.RateLimit',
    rule: 'repeated',
  },
  // 1.34: size of the LRU of buckets created for wildcard (value-less) descriptor entries.
  {
    type: 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
    field: 'max_dynamic_descriptors',
    id: 18,
    fieldType: 'google.protobuf.UInt32Value',
    rules: { uint32: { gte: 1 } },
  },
  {
    type: 'envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor',
    field: 'shadow_mode',
    id: 3,
    fieldType: 'bool',
  },
];

/**
 * A strict checker of Envoy configuration in proto3 JSON mapping (YAML parsed to JSON values)
 * against Envoy's API protos: unknown keys, wrong kinds, `Any` bodies by their `@type`, well-known
 * types, oneofs, and the protoc-gen-validate rules Envoy enforces at load time.
 *
 * @example
 * const api = EnvoyApi.load();
 * api.check({ stat_prefix: 'x' }, 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit');
 */
export class EnvoyApi {
  private static cached: EnvoyApi | undefined;

  private constructor(private readonly root: protobuf.Root) {}

  /** Loads every Envoy API proto whose imports are all present in the package (once per process). */
  static load(): EnvoyApi {
    if (EnvoyApi.cached) return EnvoyApi.cached;
    const descriptor = require('protobufjs/google/protobuf/descriptor.json') as {
      nested: { google: { nested: { protobuf: { nested: Record<string, protobuf.AnyNestedObject> } } } };
    };
    // validate.proto extends FieldOptions; protobufjs bundles descriptor.proto but does not
    // register it among its built-in files.
    protobuf.common('descriptor', descriptor.nested.google.nested.protobuf.nested);
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => findProto(target) ?? target;
    root.loadSync(loadableEnvoyProtos(), { keepCase: true });
    const added: protobuf.Field[] = [];
    for (const delta of ENVOY_134_DELTA) {
      const type = root.lookupType(delta.type);
      if (type.fields[delta.field]) continue;
      const field = new protobuf.Field(delta.field, delta.id, delta.fieldType, delta.rule);
      if (delta.rules) setParsedOptions(field, [{ '(validate.rules)': delta.rules }]);
      type.add(field);
      added.push(field);
    }
    // Since 1.34 an entry without a value is a wildcard (one bucket per distinct value), so the
    // older `value` min_len 1 no longer holds.
    const entryValue = root.lookupType('envoy.extensions.common.ratelimit.v3.RateLimitDescriptor.Entry')
      .fields.value;
    if (entryValue) setParsedOptions(entryValue, []);
    root.resolveAll();
    // resolveAll skips types it has already resolved, which the lookups above did.
    for (const field of added) field.resolve();
    EnvoyApi.cached = new EnvoyApi(root);
    return EnvoyApi.cached;
  }

  /** Whether the loaded protos define `typeName` (a fully qualified message name). */
  hasType(typeName: string): boolean {
    return this.root.lookup(typeName) instanceof protobuf.Type;
  }

  /** Every problem in `value` read as the message `typeName`; empty when Envoy's parser would accept it. */
  check(value: unknown, typeName: string): EnvoyProtoIssue[] {
    const type = this.root.lookupType(typeName);
    const issues: EnvoyProtoIssue[] = [];
    this.checkMessage(value, type, '', issues);
    return issues;
  }

  /** Throws with every issue, one per line, prefixed by `label` (the file being checked). */
  assertValid(value: unknown, typeName: string, label: string): void {
    const issues = this.check(value, typeName);
    if (issues.length > 0)
      throw new Error(
        `${label} is not a valid ${typeName}:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
      );
  }

  private checkMessage(value: unknown, type: protobuf.Type, path: string, issues: EnvoyProtoIssue[]): void {
    const fullName = type.fullName.replace(/^\./, '');
    if (this.checkWellKnown(value, fullName, path, issues)) return;
    if (!isPlainObject(value)) {
      issues.push({ path, message: `expected ${type.name} (an object), got ${describe(value)}` });
      return;
    }
    const byName = new Map<string, protobuf.Field>();
    for (const field of type.fieldsArray) {
      byName.set(field.name, field);
      byName.set(jsonName(field), field);
    }
    const present = new Map<protobuf.Field, string>();
    for (const [key, fieldValue] of Object.entries(value)) {
      const at = join2(path, key);
      const field = byName.get(key);
      if (!field) {
        issues.push({ path: at, message: `unknown field: ${fullName} has no field "${key}"` });
        continue;
      }
      const earlier = present.get(field);
      if (earlier !== undefined) {
        issues.push({ path: at, message: `field set twice (as "${earlier}" and "${key}")` });
        continue;
      }
      // proto3 JSON: null stands for the default, i.e. the field is not set.
      if (fieldValue === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue;
      present.set(field, key);
      if (field.options?.deprecated === true)
        issues.push({ path: at, message: `deprecated field ${fullName}.${field.name}` });
      this.checkField(fieldValue, field, at, issues);
    }
    for (const oneof of type.oneofsArray) {
      // In document order, so the member reported is the one written second.
      const set = [...present.keys()].filter((f) => f.partOf === oneof);
      if (set.length > 1)
        issues.push({
          path: join2(path, present.get(set[1]!)!),
          message: `oneof ${oneof.name} is already set by "${present.get(set[0]!)}"; set only one of ${oneof.fieldsArray.map((f) => f.name).join(', ')}`,
        });
      const isSynthetic = oneof.name.startsWith('_') && oneof.fieldsArray.length === 1;
      if (set.length === 0 && !isSynthetic && oneof.options?.['(validate.required)'] === true)
        issues.push({
          path,
          message: `one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} is required (oneof ${oneof.name})`,
        });
    }
    for (const field of type.fieldsArray) {
      // PGV checks a member of a oneof only when it is the one set.
      if (present.has(field) || field.partOf) continue;
      const rules = rulesOf(field);
      const at = join2(path, field.name);
      if (['message', 'duration', 'timestamp', 'any'].some((kind) => rules[kind]?.required === true)) {
        issues.push({ path: at, message: `required field ${fullName}.${field.name} is missing` });
        continue;
      }
      if (field.map) {
        if (num(rules.map?.min_pairs) > 0)
          issues.push({ path: at, message: `needs at least ${num(rules.map?.min_pairs)} entries` });
        continue;
      }
      if (field.repeated) {
        if (num(rules.repeated?.min_items) > 0)
          issues.push({ path: at, message: `needs at least ${num(rules.repeated?.min_items)} items` });
        continue;
      }
      // PGV checks an unset proto3 scalar as its default value (so `min_len: 1` makes a string
      // mandatory).
      if (field.resolvedType instanceof protobuf.Type) continue;
      if (field.resolvedType instanceof protobuf.Enum) {
        this.checkEnum(0, field.resolvedType, rules, at, issues);
        continue;
      }
      checkScalar(defaultOf(field.type), field.type, rules, at, issues);
    }
  }

  private checkField(value: unknown, field: protobuf.Field, path: string, issues: EnvoyProtoIssue[]): void {
    const rules = rulesOf(field);
    if (field.map) {
      if (!isPlainObject(value)) {
        issues.push({ path, message: `expected a map (object), got ${describe(value)}` });
        return;
      }
      const keyType = (field as unknown as protobuf.MapField).keyType;
      for (const [key, entry] of Object.entries(value)) {
        if (keyType !== 'string') checkScalar(key, keyType, {}, join2(path, key), issues);
        this.checkSingle(entry, field, {}, join2(path, key), issues);
      }
      const pairs = Object.keys(value).length;
      if (pairs < num(rules.map?.min_pairs))
        issues.push({ path, message: `needs at least ${num(rules.map?.min_pairs)} entries, has ${pairs}` });
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) {
        issues.push({ path, message: `expected a list, got ${describe(value)}` });
        return;
      }
      const repeated = rules.repeated ?? {};
      if (repeated.min_items !== undefined && value.length < num(repeated.min_items))
        issues.push({
          path,
          message: `needs at least ${num(repeated.min_items)} items, has ${value.length}`,
        });
      if (repeated.max_items !== undefined && value.length > num(repeated.max_items))
        issues.push({
          path,
          message: `allows at most ${num(repeated.max_items)} items, has ${value.length}`,
        });
      const itemRules = (repeated.items ?? {}) as Rules;
      value.forEach((item, index) => this.checkSingle(item, field, itemRules, `${path}[${index}]`, issues));
      return;
    }
    this.checkSingle(value, field, rules, path, issues);
  }

  private checkSingle(
    value: unknown,
    field: protobuf.Field,
    rules: Rules,
    path: string,
    issues: EnvoyProtoIssue[],
  ): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) {
      this.checkEnum(value, resolved, rules, path, issues);
      return;
    }
    if (resolved instanceof protobuf.Type) {
      const name = resolved.fullName.replace(/^\./, '');
      const scalar = WRAPPERS[name];
      if (scalar) {
        // Wrappers are written as their bare value, and PGV applies the scalar rules to it.
        if (value === null) return;
        checkScalar(value, scalar, rules, path, issues);
        return;
      }
      if (name === 'google.protobuf.Duration') {
        const seconds = parseDuration(value);
        if (seconds === undefined) {
          issues.push({ path, message: `expected Duration (a string like "1.5s"), got ${describe(value)}` });
          return;
        }
        checkBounds(seconds, rules.duration, path, issues, (limit) => durationSeconds(limit));
        return;
      }
      this.checkMessage(value, resolved, path, issues);
      return;
    }
    checkScalar(value, field.type, rules, path, issues);
  }

  private checkEnum(
    value: unknown,
    type: protobuf.Enum,
    rules: Rules,
    path: string,
    issues: EnvoyProtoIssue[],
  ): void {
    if (typeof value === 'string') {
      if (!(value in type.values))
        issues.push({
          path,
          message: `unknown ${type.name} value "${value}" (${describeEnum(type)})`,
        });
      return;
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      issues.push({
        path,
        message: `expected ${type.name} (an enum name or number), got ${describe(value)}`,
      });
      return;
    }
    if (rules.enum?.defined_only === true && !Object.values(type.values).includes(value))
      issues.push({ path, message: `${value} is not a defined ${type.name} value (defined_only)` });
  }

  // Well-known types with a JSON form of their own. Returns false for any other message.
  private checkWellKnown(value: unknown, typeName: string, path: string, issues: EnvoyProtoIssue[]): boolean {
    switch (typeName) {
      case 'google.protobuf.Any': {
        this.checkAny(value, path, issues);
        return true;
      }
      case 'google.protobuf.Duration':
        if (parseDuration(value) === undefined)
          issues.push({ path, message: `expected Duration (a string like "1.5s"), got ${describe(value)}` });
        return true;
      case 'google.protobuf.Timestamp':
        if (typeof value !== 'string' || !TIMESTAMP.test(value))
          issues.push({ path, message: `expected Timestamp (RFC 3339), got ${describe(value)}` });
        return true;
      case 'google.protobuf.FieldMask':
        if (typeof value !== 'string') issues.push({ path, message: `expected FieldMask (a string)` });
        return true;
      case 'google.protobuf.Struct':
        if (!isPlainObject(value))
          issues.push({ path, message: `expected Struct (an object), got ${describe(value)}` });
        return true;
      case 'google.protobuf.ListValue':
        if (!Array.isArray(value))
          issues.push({ path, message: `expected ListValue (a list), got ${describe(value)}` });
        return true;
      case 'google.protobuf.Value':
        return true;
      default: {
        const scalar = WRAPPERS[typeName];
        if (!scalar) return false;
        checkScalar(value, scalar, {}, path, issues);
        return true;
      }
    }
  }

  private checkAny(value: unknown, path: string, issues: EnvoyProtoIssue[]): void {
    if (!isPlainObject(value)) {
      issues.push({ path, message: `expected Any (an object with "@type"), got ${describe(value)}` });
      return;
    }
    const typeUrl = value['@type'];
    const at = join2(path, '@type');
    if (typeof typeUrl !== 'string' || !typeUrl.includes('/')) {
      issues.push({
        path: at,
        message: `Any needs "@type": "type.googleapis.com/<message name>", got ${describe(typeUrl)}`,
      });
      return;
    }
    const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    const type = this.root.lookup(typeName);
    if (!(type instanceof protobuf.Type)) {
      issues.push({
        path: at,
        message: `unknown type ${typeName}: no such message in the Envoy API protos of ${ENVOY_PROTOS_SOURCE}`,
      });
      return;
    }
    const { '@type': _typeUrl, ...body } = value;
    if (WELL_KNOWN.has(typeName)) {
      // An Any holding a well-known type keeps the value under "value".
      const extra = Object.keys(body).filter((key) => key !== 'value');
      for (const key of extra)
        issues.push({
          path: join2(path, key),
          message: `unknown field beside "value" in an Any of ${typeName}`,
        });
      this.checkWellKnown(body.value, typeName, join2(path, 'value'), issues);
      return;
    }
    this.checkMessage(body, type, path, issues);
    // TypedStruct (udpa/xds) carries a config as a Struct named by its own type_url: check it too.
    if (
      (typeName === 'udpa.type.v1.TypedStruct' || typeName === 'xds.type.v3.TypedStruct') &&
      typeof body.type_url === 'string'
    )
      this.checkAny({ '@type': body.type_url, ...(body.value as object) }, join2(path, 'value'), issues);
  }
}

function describeEnum(type: protobuf.Enum): string {
  const names = Object.keys(type.values);
  return names.length <= 12
    ? `one of ${names.join(', ')}`
    : `${names.length} names, e.g. ${names.slice(0, 6).join(', ')}`;
}

function checkScalar(
  value: unknown,
  kind: string,
  rules: Rules,
  path: string,
  issues: EnvoyProtoIssue[],
): void {
  const range = INTEGER_RANGES[kind];
  if (range) {
    const parsed = parseInteger(value);
    if (parsed === undefined || parsed < range[0] || parsed > range[1]) {
      issues.push({ path, message: `expected ${kind}, got ${describe(value)}` });
      return;
    }
    if (rules[kind]?.ignore_empty === true && parsed === 0n) return;
    checkBounds(Number(parsed), rules[kind], path, issues, num);
    return;
  }
  switch (kind) {
    case 'double':
    case 'float': {
      const ok =
        (typeof value === 'number' && Number.isFinite(value)) ||
        (typeof value === 'string' && (/^(NaN|-?Infinity)$/.test(value) || Number.isFinite(Number(value))));
      if (!ok) issues.push({ path, message: `expected ${kind}, got ${describe(value)}` });
      else checkBounds(Number(value), rules[kind], path, issues, num);
      return;
    }
    case 'bool':
      if (typeof value !== 'boolean') issues.push({ path, message: `expected bool, got ${describe(value)}` });
      return;
    case 'bytes':
      if (typeof value !== 'string' || !BASE64.test(value))
        issues.push({ path, message: `expected bytes (base64), got ${describe(value)}` });
      return;
    case 'string':
      if (typeof value !== 'string') {
        issues.push({ path, message: `expected string, got ${describe(value)}` });
        return;
      }
      checkString(value, rules.string ?? {}, path, issues);
      return;
    default:
      issues.push({ path, message: `unsupported scalar type ${kind}` });
  }
}

function checkString(
  value: string,
  rules: Record<string, unknown>,
  path: string,
  issues: EnvoyProtoIssue[],
): void {
  if (rules.ignore_empty === true && value === '') return;
  const length = [...value].length;
  const bytes = Buffer.byteLength(value);
  if (rules.min_len !== undefined && length < num(rules.min_len))
    issues.push({ path, message: `needs at least ${num(rules.min_len)} characters, got "${value}"` });
  if (rules.max_len !== undefined && length > num(rules.max_len))
    issues.push({ path, message: `allows at most ${num(rules.max_len)} characters` });
  if (rules.min_bytes !== undefined && bytes < num(rules.min_bytes))
    issues.push({ path, message: `needs at least ${num(rules.min_bytes)} bytes` });
  if (rules.max_bytes !== undefined && bytes > num(rules.max_bytes))
    issues.push({ path, message: `allows at most ${num(rules.max_bytes)} bytes` });
  if (Array.isArray(rules.in) && !rules.in.includes(value))
    issues.push({ path, message: `must be one of ${rules.in.map((v) => JSON.stringify(v)).join(', ')}` });
  if (typeof rules.prefix === 'string' && !value.startsWith(rules.prefix))
    issues.push({ path, message: `must start with "${rules.prefix}"` });
  if (rules.well_known_regex !== undefined) {
    const regex =
      rules.strict === false
        ? NO_NUL_CR_LF
        : rules.well_known_regex === 'HTTP_HEADER_NAME'
          ? HEADER_NAME
          : HEADER_VALUE;
    if (!regex.test(value))
      issues.push({ path, message: `"${value}" is not a valid ${String(rules.well_known_regex)}` });
  }
}

function checkBounds(
  value: number,
  rules: Record<string, unknown> | undefined,
  path: string,
  issues: EnvoyProtoIssue[],
  toNumber: (limit: unknown) => number,
): void {
  if (!rules) return;
  const checks: Array<[string, (limit: number) => boolean, string]> = [
    ['gt', (l) => value > l, 'greater than'],
    ['gte', (l) => value >= l, 'at least'],
    ['lt', (l) => value < l, 'less than'],
    ['lte', (l) => value <= l, 'at most'],
    ['const', (l) => value === l, 'exactly'],
  ];
  for (const [name, ok, words] of checks) {
    if (rules[name] === undefined) continue;
    const limit = toNumber(rules[name]);
    if (!ok(limit)) issues.push({ path, message: `must be ${words} ${limit}, got ${value}` });
  }
}

function rulesOf(field: protobuf.Field): Rules {
  const merged: Rules = {};
  for (const option of parsedOptionsOf(field)) {
    const rules = option['(validate.rules)'];
    if (!isPlainObject(rules)) continue;
    for (const [kind, body] of Object.entries(rules))
      merged[kind] = { ...merged[kind], ...(body as Record<string, unknown>) };
  }
  return merged;
}

// protobufjs keeps declared options as an array of single-key objects; its typings say otherwise.
function parsedOptionsOf(field: protobuf.Field): Array<Record<string, unknown>> {
  return (field as unknown as { parsedOptions?: Array<Record<string, unknown>> | null }).parsedOptions ?? [];
}

function setParsedOptions(field: protobuf.Field, options: Array<Record<string, unknown>>): void {
  (field as unknown as { parsedOptions: Array<Record<string, unknown>> }).parsedOptions = options;
}

function parseDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = DURATION.exec(value);
  if (!match) return undefined;
  const seconds = Number(match[2]) + Number(`0.${match[3] ?? '0'}`);
  if (seconds > MAX_DURATION_SECONDS) return undefined;
  return match[1] ? -seconds : seconds;
}

// A PGV duration bound as protobufjs parses it: `{seconds, nanos}`, `{}` meaning zero.
function durationSeconds(limit: unknown): number {
  const { seconds = 0, nanos = 0 } = (limit ?? {}) as { seconds?: number; nanos?: number };
  return Number(seconds) + Number(nanos) / 1e9;
}

function parseInteger(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  // 64-bit integers are strings in proto3 JSON; every integer type accepts the string form.
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  return undefined;
}

function defaultOf(kind: string): unknown {
  if (kind === 'string' || kind === 'bytes') return '';
  if (kind === 'bool') return false;
  return 0;
}

function jsonName(field: protobuf.Field): string {
  const explicit = field.options?.json_name;
  return typeof explicit === 'string'
    ? explicit
    : field.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

function join2(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function findProto(target: string): string | undefined {
  return INCLUDE_DIRS.map((dir) => join(dir, target)).find((candidate) => existsSync(candidate));
}

// A few v2/v3 protos import files the package does not ship (opencensus, old v2 trees); loading
// them would fail the whole root, so only files whose imports all resolve are loaded.
function loadableEnvoyProtos(): string[] {
  const known = new Map<string, boolean>();
  const loadable = (file: string): boolean => {
    if (file.startsWith('google/protobuf/')) return true;
    const cached = known.get(file);
    if (cached !== undefined) return cached;
    known.set(file, true); // import cycles resolve optimistically
    const path = findProto(file);
    const ok =
      path !== undefined &&
      [...readFileSync(path, 'utf8').matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)"/gm)].every((m) =>
        loadable(m[1]!),
      );
    known.set(file, ok);
    return ok;
  };
  const envoyDir = INCLUDE_DIRS[0]!;
  return (readdirSync(envoyDir, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.proto'))
    .map((file) => file.split('\\').join('/'))
    .filter(loadable);
}
