/**
 * gossipless — blob-lease leadership, table membership and bus, and the tools to migrate a
 * gossip/multicast cluster onto them. This file is the public API: one export list.
 *
 * @packageDocumentation
 */
export { GossiplessError, isGossiplessError } from './errors/index.js';
export type { GossiplessErrorCode, GossiplessErrorOptions } from './errors/index.js';
export { redact } from './redact/index.js';
export { systemClock, skewedClock } from './clock/index.js';
export type { Clock } from './clock/index.js';
export { connectStorage, CONNECTION_STRING_ENV } from './storage/index.js';
export type {
  StorageConnection,
  StorageTarget,
  ConnectionStringTarget,
  AccountNameTarget,
  EndpointsTarget,
} from './storage/index.js';
export { startAzurite } from './dev/index.js';
export type { StartAzuriteOptions, AzuriteInstance } from './dev/index.js';
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
} from './edge/index.js';
export type {
  RateLimitRule,
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
} from './edge/index.js';
