/**
 * `gossipless migrate`: rewrites a legacy repository's imports of node-discover, swim and in-house
 * modules to the gossipless shims, fixes constructor options, and extracts rate limits for the edge.
 * This file is the folder's only door.
 *
 * @packageDocumentation
 */
export { migrate, migrateSourceText, applyChanges, ProjectBatches, DEFAULT_MAX_FILE_SIZE } from './runner.js';
export type {
  MigrateOptions,
  MigrateReport,
  FileOutcome,
  ReviewFinding,
  MigrateSourceOptions,
  MigratedSource,
} from './runner.js';
export {
  loadMigrateConfig,
  resolveMigrateConfig,
  builtInMappings,
  migrateConfigSchema,
  CONFIG_FILE_NAME,
} from './config.js';
export type { MigrateConfig, MigrateModuleConfig } from './config.js';
export { gitWorkingTreeStatus } from './git-status.js';
export { classifyUncommittedChanges, removeLeftovers, TEMPORARY_FILE } from './resume.js';
export type { UncommittedChanges } from './resume.js';
export type { GitWorkingTreeStatus } from './git-status.js';
export {
  RATE_LIMITS_FILE_NAME,
  buildRateLimitRules,
  planRateLimitsFile,
  validateRateLimitsDocument,
} from './rate-limits.js';
export type { RateLimitRule, LocatedRateLimit, RateLimitsFilePlan } from './rate-limits.js';
export {
  nodeDiscoverMapping,
  nodeDiscoverTransform,
  NODE_DISCOVER_SHIM,
} from './transforms/node-discover.js';
export { swimMapping, swimTransform, SWIM_SHIM } from './transforms/swim.js';
export { democracyMapping, democracyTransform, DEMOCRACY_SHIM } from './transforms/democracy.js';
export { CHANNEL_TIMEOUT_FLOOR_MS } from './transforms/legacy-call-checks.js';
export {
  crdtRateLimiterShimMapping,
  crdtRateLimiterTransform,
  CRDT_RATE_LIMITER_SHIM,
  CRDT_RATE_LIMITER_EXPORT,
} from './transforms/crdt-rate-limiter.js';
export { inHouseModuleTransform } from './transforms/in-house-module.js';
export { rewriteModule } from './module-rewrite.js';
export type { ConstructorCall, ModuleRewrite } from './module-rewrite.js';
export type {
  ModuleMapping,
  LegacyModuleLocation,
  TextChange,
  ReviewItem,
  ExtractedRateLimit,
  RateLimitKey,
  Transform,
  TransformContext,
  TransformResult,
} from './types.js';
