import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENVOY_FILES, type EdgePlan } from '../../src/edge/index.js';
import { EnvoyApi, ENVOY_PROTOS_SOURCE, type EnvoyProtoIssue } from './envoy-proto.js';
import { edgeCases } from './helpers.js';

// What each Envoy output holds, and the type it is checked as:
// - local-ratelimit-filters.yaml: `http_filters`, entries for HttpConnectionManager.http_filters
//   → each entry an HttpFilter, and all of them inside a complete HttpConnectionManager
//   (with the router last), itself the typed_config of a listener network Filter;
// - global-ratelimit-envoy.yaml: `http_filters` (same) and `virtual_host`, fields to merge into a
//   RouteConfiguration virtual host → merged into the virtual host of that same complete
//   HttpConnectionManager;
// - ratelimit-service-config.yaml is not Envoy config: it is the envoyproxy/ratelimit service's
//   own YAML, checked against src/edge/schemas/envoy-ratelimit-service.schema.json.
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const HTTP_FILTER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter';
const NETWORK_FILTER = 'envoy.config.listener.v3.Filter';
const LOCAL_RATE_LIMIT = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const FRAGMENT_KEYS = ['http_filters', 'virtual_host'];

const api = EnvoyApi.load();
const serviceSchema = JSON.parse(
  readFileSync(
    new URL('../../src/edge/schemas/envoy-ratelimit-service.schema.json', import.meta.url),
    'utf8',
  ),
) as object;
const validateService = new Ajv({ allErrors: true, strict: false }).compile(serviceSchema);

interface Fragment {
  http_filters?: Array<Record<string, unknown>>;
  virtual_host?: Record<string, unknown>;
}

function fragment(plan: EdgePlan, path: string): Fragment {
  const found = plan.files.find((f) => f.path === path);
  if (!found) throw new Error(`${path} was not generated`);
  const value = parse(found.content) as Record<string, unknown>;
  const extra = Object.keys(value).filter((key) => !FRAGMENT_KEYS.includes(key));
  if (extra.length > 0)
    throw new Error(`${path} has keys no HttpConnectionManager merge takes: ${extra.join(', ')}`);
  return value as Fragment;
}

/** The fragments as a user merges them: a listener filter holding a complete HttpConnectionManager. */
function listenerFilter(...fragments: Fragment[]): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': `type.googleapis.com/${HCM}`,
      stat_prefix: 'ingress_http',
      route_config: {
        name: 'local_route',
        virtual_hosts: [
          {
            name: 'app',
            domains: ['*'],
            routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }],
            ...Object.assign({}, ...fragments.map((f) => f.virtual_host ?? {})),
          },
        ],
      },
      http_filters: [
        ...fragments.flatMap((f) => f.http_filters ?? []),
        {
          name: 'envoy.filters.http.router',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
        },
      ],
    },
  };
}

function format(issues: readonly EnvoyProtoIssue[]): string[] {
  return issues.map((issue) => `${issue.path}: ${issue.message}`);
}

// Load-time checks of the local rate limit filter that live in Envoy's C++ rather than in PGV
// annotations (local_ratelimit_impl.cc; the fill-interval rule is also stated in the proto's
// `descriptors` comment): a fill interval below 50 ms, a descriptor interval that is not a
// multiple of the filter-wide one, and a repeated descriptor each make Envoy refuse the config.
function localRateLimitLoadErrors(typedConfig: Record<string, unknown>): string[] {
  const ms = (duration: unknown): number => Math.round(Number(String(duration).replace(/s$/, '')) * 1000);
  const bucket = typedConfig.token_bucket as { fill_interval: string } | undefined;
  const errors: string[] = [];
  if (!bucket) return errors;
  const fillMs = ms(bucket.fill_interval);
  if (fillMs < 50) errors.push(`token_bucket.fill_interval ${bucket.fill_interval} is below 50 ms`);
  const seen = new Set<string>();
  const descriptors = (typedConfig.descriptors ?? []) as Array<{
    entries: unknown[];
    token_bucket: { fill_interval: string };
  }>;
  descriptors.forEach((descriptor, index) => {
    const descriptorMs = ms(descriptor.token_bucket.fill_interval);
    if (descriptorMs % fillMs !== 0)
      errors.push(
        `descriptors[${index}].token_bucket.fill_interval ${descriptor.token_bucket.fill_interval} is not a multiple of the filter's ${bucket.fill_interval}`,
      );
    const key = JSON.stringify(descriptor.entries);
    if (seen.has(key)) errors.push(`descriptors[${index}] repeats an earlier descriptor`);
    seen.add(key);
  });
  return errors;
}

interface ServiceDescriptor {
  key: string;
  value?: string;
  rate_limit?: unknown;
  descriptors?: ServiceDescriptor[];
}

// The descriptor entries (key and, when fixed, value) one rate_limits entry sends to the service.
function sentEntries(
  actions: Array<Record<string, Record<string, unknown>>>,
): Array<{ key: string; value?: string }> {
  return actions.map((action) => {
    const [kind, body] = Object.entries(action)[0]!;
    switch (kind) {
      case 'generic_key':
      case 'header_value_match':
        return {
          key: String(body.descriptor_key ?? (kind === 'generic_key' ? 'generic_key' : 'header_match')),
          value: String(body.descriptor_value),
        };
      case 'remote_address':
        return { key: 'remote_address' };
      case 'request_headers':
      case 'metadata':
        return { key: String(body.descriptor_key) };
      default:
        throw new Error(`action ${kind} is not mapped by this test`);
    }
  });
}

// The ratelimit service answers with a limit only when the entries walk its descriptor tree to a
// node with a rate_limit at exactly the last entry (config_impl.go GetLimit).
function serviceLimitFor(
  tree: readonly ServiceDescriptor[],
  entries: ReadonlyArray<{ key: string; value?: string }>,
): boolean {
  let level = tree;
  for (const [index, entry] of entries.entries()) {
    const node =
      level.find((d) => d.key === entry.key && d.value !== undefined && d.value === entry.value) ??
      level.find((d) => d.key === entry.key && d.value === undefined);
    if (!node) return false;
    if (index === entries.length - 1) return node.rate_limit !== undefined;
    level = node.descriptors ?? [];
  }
  return false;
}

// The service refuses two descriptors with the same key and value at one level ("duplicate
// descriptor composite key"), which a JSON schema cannot say.
function duplicateServiceKeys(level: readonly ServiceDescriptor[], parent = ''): string[] {
  const seen = new Set<string>();
  return level.flatMap((descriptor) => {
    const key = `${parent}${descriptor.key}${descriptor.value ? `_${descriptor.value}` : ''}`;
    const duplicate = seen.has(key) ? [key] : [];
    seen.add(key);
    return [...duplicate, ...duplicateServiceKeys(descriptor.descriptors ?? [], `${key}.`)];
  });
}

describe.each(edgeCases())(
  `Envoy API protos (${ENVOY_PROTOS_SOURCE}) accept the $name outputs`,
  ({ plan }) => {
    it('local-ratelimit-filters.yaml: HttpFilter entries inside a complete HttpConnectionManager', () => {
      const local = fragment(plan, ENVOY_FILES.local);
      expect(local.http_filters?.length).toBeGreaterThan(0);
      for (const [index, filter] of (local.http_filters ?? []).entries())
        expect(format(api.check(filter, HTTP_FILTER)), `http_filters[${index}]`).toEqual([]);
      expect(format(api.check(listenerFilter(local), NETWORK_FILTER))).toEqual([]);
    });

    it('local-ratelimit-filters.yaml: load-time rules of the local rate limit filter', () => {
      for (const filter of fragment(plan, ENVOY_FILES.local).http_filters ?? []) {
        const typedConfig = filter.typed_config as Record<string, unknown>;
        expect(typedConfig['@type']).toBe(`type.googleapis.com/${LOCAL_RATE_LIMIT}`);
        expect(localRateLimitLoadErrors(typedConfig)).toEqual([]);
      }
    });

    it('global-ratelimit-envoy.yaml: the ratelimit filter and the virtual-host actions, merged', () => {
      const global = fragment(plan, ENVOY_FILES.globalEnvoy);
      for (const [index, filter] of (global.http_filters ?? []).entries())
        expect(format(api.check(filter, HTTP_FILTER)), `http_filters[${index}]`).toEqual([]);
      expect(format(api.check(listenerFilter(global), NETWORK_FILTER))).toEqual([]);
      // Both files go into one listener in a fleet that uses local and global limits together.
      expect(
        format(api.check(listenerFilter(fragment(plan, ENVOY_FILES.local), global), NETWORK_FILTER)),
      ).toEqual([]);
    });

    it('ratelimit-service-config.yaml: schema from envoyproxy/ratelimit, and every Envoy action finds its limit', () => {
      const service = plan.files.find((f) => f.path === ENVOY_FILES.service);
      const config = parse(service!.content) as { domain: string; descriptors?: ServiceDescriptor[] };
      expect(validateService(config), JSON.stringify(validateService.errors)).toBe(true);
      expect(duplicateServiceKeys(config.descriptors ?? [])).toEqual([]);
      const global = fragment(plan, ENVOY_FILES.globalEnvoy);
      const domain = (global.http_filters![0]!.typed_config as { domain: string }).domain;
      expect(domain).toBe(config.domain);
      const rateLimits = (global.virtual_host?.rate_limits ?? []) as Array<{
        actions: Array<Record<string, Record<string, unknown>>>;
      }>;
      for (const rateLimit of rateLimits)
        expect(
          serviceLimitFor(config.descriptors ?? [], sentEntries(rateLimit.actions)),
          JSON.stringify(rateLimit),
        ).toBe(true);
    });
  },
);

describe('the checker follows the proto3 JSON mapping Envoy parses', () => {
  it('accepts json names, 64-bit as strings, enums by number, bare wrappers, WKT in Any; flags deprecated fields', () => {
    expect(
      format(
        api.check(
          {
            defaultValue: { numerator: 5, denominator: 1 },
            runtime_key: 'k',
          },
          'envoy.config.core.v3.RuntimeFractionalPercent',
        ),
      ),
    ).toEqual([]);
    expect(format(api.check({ start: '-9007199254740993', end: 5 }, 'envoy.type.v3.Int64Range'))).toEqual([]);
    expect(
      format(
        api.check({ max_tokens: 1, tokensPerFill: 2, fill_interval: '0.050s' }, 'envoy.type.v3.TokenBucket'),
      ),
    ).toEqual([]);
    expect(
      format(
        api.check(
          { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '2s' },
          'google.protobuf.Any',
        ),
      ),
    ).toEqual([]);
    expect(
      format(api.check({ name: ':path', exact_match: '/' }, 'envoy.config.route.v3.HeaderMatcher')),
    ).toEqual(['exact_match: deprecated field envoy.config.route.v3.HeaderMatcher.exact_match']);
    expect(format(api.check({ start: 'ten', end: 1.5, stop: 2 }, 'envoy.type.v3.Int64Range'))).toEqual([
      'start: expected int64, got string "ten"',
      'end: expected int64, got number 1.5',
      'stop: unknown field: envoy.type.v3.Int64Range has no field "stop"',
    ]);
  });
});

describe('the Envoy checks can fail', () => {
  const plan = edgeCases().find((c) => c.name === 'path-matched-login-with-methods')!.plan;
  const localFilters = (): Fragment => fragment(plan, ENVOY_FILES.local);
  const typedConfig = (f: Fragment): Record<string, unknown> =>
    f.http_filters![0]!.typed_config as Record<string, unknown>;
  const descriptor = (f: Fragment, index = 0): Record<string, unknown> =>
    (typedConfig(f).descriptors as Array<Record<string, unknown>>)[index]!;
  const issuesOf = (f: Fragment): string[] => format(api.check(f.http_filters![0], HTTP_FILTER));
  const prefixed = (f: Fragment): string[] =>
    format(api.check(f, HCM)).filter((issue) => issue.startsWith('http_filters'));

  it('a misspelt field, with its path', () => {
    const f = localFilters();
    const d = descriptor(f);
    d.token_buckett = d.token_bucket;
    delete d.token_bucket;
    expect(prefixed(f)).toEqual([
      `http_filters[0].typed_config.descriptors[0].token_buckett: unknown field: envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor has no field "token_buckett"`,
      'http_filters[0].typed_config.descriptors[0].token_bucket: required field envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor.token_bucket is missing',
    ]);
  });

  it('a Duration that is not proto3 JSON ("1m", a bare number)', () => {
    const f = localFilters();
    (typedConfig(f).token_bucket as Record<string, unknown>).fill_interval = '1m';
    (descriptor(f).token_bucket as Record<string, unknown>).fill_interval = 12;
    expect(prefixed(f)).toEqual([
      'http_filters[0].typed_config.token_bucket.fill_interval: expected Duration (a string like "1.5s"), got string "1m"',
      'http_filters[0].typed_config.descriptors[0].token_bucket.fill_interval: expected Duration (a string like "1.5s"), got number 12',
    ]);
  });

  it('an unknown @type', () => {
    const f = localFilters();
    typedConfig(f)['@type'] =
      'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimitt';
    expect(issuesOf(f)).toEqual([
      `typed_config.@type: unknown type envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimitt: no such message in the Envoy API protos of ${ENVOY_PROTOS_SOURCE}`,
    ]);
  });

  it('a missing required field, an empty required string, a zero where PGV says gt 0', () => {
    const f = localFilters();
    delete descriptor(f).token_bucket;
    delete typedConfig(f).stat_prefix;
    (descriptor(f, 1).token_bucket as Record<string, unknown>).max_tokens = 0;
    typedConfig(f).max_dynamic_descriptors = 0;
    expect(issuesOf(f)).toEqual([
      'typed_config.max_dynamic_descriptors: must be at least 1, got 0',
      'typed_config.descriptors[0].token_bucket: required field envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor.token_bucket is missing',
      'typed_config.descriptors[1].token_bucket.max_tokens: must be greater than 0, got 0',
      'typed_config.stat_prefix: needs at least 1 characters, got ""',
    ]);
  });

  it('wrong kinds: a string for a uint32, an unknown enum name, a oneof set twice, an object for a list', () => {
    const f = fragment(plan, ENVOY_FILES.globalEnvoy);
    const rateLimit = f.http_filters![0]!.typed_config as Record<string, unknown>;
    rateLimit.enable_x_ratelimit_headers = 'DRAFT_VERSION_3';
    rateLimit.stage = 'first';
    const actions = (
      f.virtual_host!.rate_limits as Array<{ actions: Array<Record<string, Record<string, unknown>>> }>
    )[0]!.actions;
    const headers = actions[1]!.header_value_match!.headers as Array<{
      string_match: Record<string, unknown>;
    }>;
    headers[0]!.string_match.exact = '/login';
    f.virtual_host!.rate_limits = { actions };
    expect(format(api.check(listenerFilter({ http_filters: f.http_filters }), NETWORK_FILTER))).toEqual([
      'typed_config.http_filters[0].typed_config.enable_x_ratelimit_headers: unknown XRateLimitHeadersRFCVersion value "DRAFT_VERSION_3" (one of OFF, DRAFT_VERSION_03)',
      'typed_config.http_filters[0].typed_config.stage: expected uint32, got string "first"',
    ]);
    expect(
      format(
        api.check({ name: 'app', domains: ['*'], ...f.virtual_host }, 'envoy.config.route.v3.VirtualHost'),
      ),
    ).toEqual(['rate_limits: expected a list, got an object']);
    f.virtual_host!.rate_limits = [{ actions }];
    expect(
      format(
        api.check({ name: 'app', domains: ['*'], ...f.virtual_host }, 'envoy.config.route.v3.VirtualHost'),
      ),
    ).toEqual([
      'rate_limits[0].actions[1].header_value_match.headers[0].string_match.exact: oneof match_pattern is already set by "prefix"; set only one of exact, prefix, suffix, safe_regex, contains, custom',
    ]);
  });

  it('a repeated field below min_items and a header name PGV refuses', () => {
    const f = localFilters();
    descriptor(f).entries = [];
    const actions = (typedConfig(f).rate_limits as Array<{ actions: Array<Record<string, unknown>> }>)[0]!
      .actions;
    actions.push({ request_headers: { header_name: 'bad\nname', descriptor_key: 'x' } });
    expect(issuesOf(f)).toEqual([
      'typed_config.descriptors[0].entries: needs at least 1 items, has 0',
      'typed_config.rate_limits[0].actions[3].request_headers.header_name: "bad\nname" is not a valid HTTP_HEADER_NAME',
    ]);
  });

  it('a descriptor fill interval that is not a multiple of the filter-wide one', () => {
    const f = localFilters();
    (descriptor(f).token_bucket as Record<string, unknown>).fill_interval = '0.3s';
    expect(localRateLimitLoadErrors(typedConfig(f))).toEqual([
      "descriptors[0].token_bucket.fill_interval 0.3s is not a multiple of the filter's 1s",
    ]);
  });

  it('ratelimit service YAML: an unknown key, a unit the service lacks, unit beside unlimited', () => {
    const config = parse(plan.files.find((f) => f.path === ENVOY_FILES.service)!.content) as {
      descriptors: Array<{ descriptors: Array<Record<string, unknown>> }>;
    };
    const leaf = config.descriptors[1]!.descriptors[0]!;
    const rateLimit = leaf.rate_limit as Record<string, unknown>;
    rateLimit.request_per_unit = 5;
    expect(validateService(config)).toBe(false);
    delete rateLimit.request_per_unit;
    rateLimit.unit = 'week';
    expect(validateService(config)).toBe(false);
    rateLimit.unit = 'MINUTE';
    expect(validateService(config)).toBe(true);
    rateLimit.unlimited = true;
    expect(validateService(config)).toBe(false);
  });

  it('a duplicate descriptor in the service config', () => {
    expect(
      duplicateServiceKeys([
        {
          key: 'gossipless_rule',
          value: 'a',
          descriptors: [{ key: 'remote_address' }, { key: 'remote_address' }],
        },
      ]),
    ).toEqual(['gossipless_rule_a.remote_address']);
  });

  it('a global action whose descriptor the service does not configure', () => {
    expect(
      serviceLimitFor(
        [{ key: 'gossipless_rule', value: 'a', descriptors: [{ key: 'remote_address', rate_limit: {} }] }],
        [{ key: 'gossipless_rule', value: 'a' }, { key: 'header_x' }],
      ),
    ).toBe(false);
  });
});
