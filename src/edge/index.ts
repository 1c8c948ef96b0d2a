/**
 * Edge rate-limit configuration generator: rules in, configuration for the edges people run out,
 * with a report of what each edge can and cannot express. The only door into `src/edge`.
 *
 * @packageDocumentation
 */
export { rateLimitRulesSchema, rateLimitRuleSchema, MAX_RULE_COUNT, MAX_WINDOW_MS } from './rules-schema.js';
export {
  lineComment,
  xmlComment,
  xmlAttribute,
  csharpString,
  escapeRegex,
  bicepString,
  markdownText,
} from './config-text.js';
export type { RateLimitFileRule, RateLimitKeySpec } from './rules-schema.js';
export {
  validateRateLimitRules,
  parseRateLimitRules,
  loadRateLimitRules,
  formatProblems,
} from './load-rules.js';
export type { RuleProblem, RuleValidation } from './load-rules.js';
export {
  planEdge,
  renderEdgeReport,
  hasRefusals,
  emptyTargets,
  parseEdgeTargets,
  resolveEdgeContext,
} from './plan-edge.js';
export type { EdgePlan } from './plan-edge.js';
export { EDGE_TARGETS } from './model.js';
export type {
  RateLimitRule,
  RuleKeyPart,
  RuleMatch,
  EdgeTarget,
  CounterScope,
  Fidelity,
  ReportRow,
  EdgeFile,
  TargetPlan,
  TargetPlanner,
  EdgeContext,
  EdgeContextOptions,
} from './model.js';
export {
  EDGE_TARGET_SHAPES,
  nginxRate,
  NGINX_FILE,
  HAPROXY_FILE,
  TRAEFIK_FILE,
  ENVOY_FILES,
  FRONT_DOOR_FILES,
  FRONT_DOOR_API_VERSION,
  APP_GATEWAY_FILES,
  APP_GATEWAY_API_VERSION,
  APP_GATEWAY_MANAGED_RULES_WARNING,
  APIM_FILE,
  INGRESS_NGINX_FILE,
  INGRESS_NGINX_RETIRED,
} from './targets/index.js';
export { planTarget } from './plan-target.js';
export type {
  EdgeTargetShape,
  TranslatedRule,
  RowFields,
  TargetContext,
  RuleContext,
  RenderedTarget,
} from './target-shape.js';
