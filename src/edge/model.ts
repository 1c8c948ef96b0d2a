/**
 * The shapes every part of the edge generator shares: a validated rule, what a target plans for it,
 * and one report row per rule × target.
 */

/** One part of a rate-limit key: who shares a counter. */
export type RuleKeyPart =
  | { readonly kind: 'ip' }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'jwt'; readonly claim: string }
  | { readonly kind: 'path' };

/** Which requests a rule applies to; every field narrows it further. */
export interface RuleMatch {
  /** Path prefix, a plain string prefix (`/api` also matches `/apiary`). */
  readonly path?: string;
  /** Upper-case HTTP methods. */
  readonly methods?: readonly string[];
  /** Host, compared case-insensitively. */
  readonly host?: string;
}

/** A rule as written in the rules file, after schema validation and defaults. */
export interface RateLimitRule {
  readonly name: string;
  /** Requests allowed per window. */
  readonly limit: number;
  /** The window as written (`30s`). */
  readonly window: string;
  /** The window in milliseconds. */
  readonly windowMs: number;
  /** Extra requests allowed at once on top of the steady rate. @default 0 */
  readonly burst: number;
  /** Key parts; several mean one counter per combination of values. */
  readonly key: readonly RuleKeyPart[];
  readonly match: RuleMatch;
  /** `reject` answers `status`; `log` lets the request through and records it. @default 'reject' */
  readonly action: 'reject' | 'log';
  /** @default 429 */
  readonly status: number;
  readonly source?: string;
  readonly note?: string;
}

/** The targets `gossipless edge` can write. */
export const EDGE_TARGETS = [
  'nginx',
  'haproxy',
  'traefik',
  'envoy',
  'azure-front-door',
  'azure-app-gateway',
  'azure-apim',
  'ingress-nginx',
] as const;

/** One of {@link EDGE_TARGETS}. */
export type EdgeTarget = (typeof EDGE_TARGETS)[number];

/**
 * Where counters live, which decides how the fleet-wide bound grows with `--instances`:
 * every scope but `global` multiplies by N.
 */
export type CounterScope = 'per instance' | 'per edge server' | 'per region' | 'global';

/** How faithfully a target expresses a rule. */
export type Fidelity = 'exact' | 'approximated' | 'refused';

/** One rule × target line of the report. */
export interface ReportRow {
  readonly rule: string;
  readonly target: EdgeTarget;
  /** A target that writes two configurations (Envoy local and global) names which one. */
  readonly variant?: string;
  readonly fidelity: Fidelity;
  /** The setting emitted, as it appears in the output (empty when refused). */
  readonly setting: string;
  /** Why the setting is approximated or refused, in words; empty when exact. */
  readonly reasons: readonly string[];
  /** Facts that hold even when exact: algorithm shape, prerequisites. */
  readonly notes: readonly string[];
  /**
   * The most requests one client (one key value) gets through one counter within any span of the
   * rule's original window. Null when refused.
   */
  readonly worstCasePerWindow: number | null;
  /** Requests one client gets through at once, from idle, on one counter. Null when refused. */
  readonly burstAtOnce: number | null;
  readonly counterScope: CounterScope | null;
  /** `worstCasePerWindow` across the fleet for the context's `instances`. Null when refused. */
  readonly fleetBound: number | null;
}

/** A file a target wants written, relative to the output directory. */
export interface EdgeFile {
  readonly path: string;
  readonly content: string;
}

/** What a target's planner returns. */
export interface TargetPlan {
  readonly target: EdgeTarget;
  readonly files: readonly EdgeFile[];
  readonly rows: readonly ReportRow[];
  /** Target-wide remarks (e.g. a retired project, a setting to add elsewhere). */
  readonly notes: readonly string[];
}

/** Site facts the planners need; defaults in {@link resolveEdgeContext}. */
export interface EdgeContextOptions {
  /**
   * How many independent counters one client can reach: proxy replicas, Front Door edge servers,
   * Application Gateway instances, API Management regions. @default 1
   */
  instances?: number;
  /** Address the generated nginx/HAProxy front end listens on. @default '0.0.0.0:8080' */
  listen?: string;
  /** Upstream the generated nginx/HAProxy/Envoy configuration forwards to. @default '127.0.0.1:3000' */
  upstream?: string;
  /** Kubernetes Service the generated Ingress/IngressRoute routes to. @default 'app' */
  serviceName?: string;
  /** @default 80 */
  servicePort?: number;
  /**
   * Divide each limit by `instances` for counters that are not global, so the fleet together
   * stays within the rule (rounded down, stated in the report). @default false
   */
  divideAmongInstances?: boolean;
}

/** {@link EdgeContextOptions} with defaults filled in. */
export type EdgeContext = Required<EdgeContextOptions>;

/**
 * A target planner: pure, no I/O. Every one is `planTarget` over the target's shapes
 * (`EdgeTargetShape`), so its rows are labelled already.
 */
export type TargetPlanner = (rules: readonly RateLimitRule[], context: EdgeContext) => TargetPlan;
