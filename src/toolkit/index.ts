/**
 * `gossipless` — the toolkit's public API: the edge generator and the local Azurite. The lint and the
 * codemod have their own doors (`gossipless/lint`, `gossipless/migrate`, `gossipless/eslint-plugin`);
 * the runtime that services install is the separate package `@gossipless/runtime`.
 *
 * @packageDocumentation
 */
export { TOOLKIT_VERSION } from './version.js';
export { startAzurite, findFreePort } from '../dev/index.js';
export type { StartAzuriteOptions, AzuriteInstance } from '../dev/index.js';
export {
  rateLimitRulesSchema,
  rateLimitRuleSchema,
  validateRateLimitRules,
  parseRateLimitRules,
  loadRateLimitRules,
  planEdge,
  renderEdgeReport,
  hasRefusals,
  parseEdgeTargets,
  resolveEdgeContext,
  EDGE_TARGETS,
} from '../edge/index.js';
export type {
  RateLimitRule,
  RateLimitFileRule,
  RateLimitKeySpec,
  RuleKeyPart,
  RuleMatch,
  RuleProblem,
  RuleValidation,
  EdgeTarget,
  EdgePlan,
  CounterScope,
  Fidelity,
  ReportRow,
  EdgeFile,
  TargetPlan,
  TargetPlanner,
  EdgeContext,
  EdgeContextOptions,
} from '../edge/index.js';
