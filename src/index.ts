/**
 * gossipless — blob-lease leadership, table membership and bus, and the tools to migrate a
 * gossip/multicast cluster onto them. This file is the public API: one export list.
 *
 * @packageDocumentation
 */
export { GossiplessError, isGossiplessError } from './errors/index.js';
export type { GossiplessErrorCode, GossiplessErrorOptions } from './errors/index.js';
export { redact } from './redact/index.js';
export { TypedEmitter } from './events/index.js';
export { silentLogger, lineLogger } from './log/index.js';
export type { Logger, LogLevel } from './log/index.js';
export { systemClock, skewedClock, ServerTimeEstimate } from './clock/index.js';
export type { Clock, ServerTimeBounds } from './clock/index.js';
export { defaultNodeId } from './node-id/index.js';
export {
  connectStorage,
  CONNECTION_STRING_ENV,
  ACCOUNT_NAME_ENV,
  isAlreadyExists,
  isLeaseLost,
  isTransient,
} from './storage/index.js';
export type {
  StorageConnection,
  StorageTarget,
  ConnectionStringTarget,
  AccountNameTarget,
  EndpointsTarget,
} from './storage/index.js';
export {
  LeaseElector,
  resolveLeaseElectorOptions,
  readLeaderInfo,
  MIN_LEASE_DURATION_MS,
  MAX_LEASE_DURATION_MS,
} from './lease/index.js';
export type {
  LeaseElectorOptions,
  ResolvedLeaseElectorOptions,
  LeaseElectorEvents,
  DemotionReason,
  LeaderInfo,
  LeaderAnnouncer,
  LeaderAnnouncement,
} from './lease/index.js';
export { Membership } from './membership/index.js';
export type { MembershipOptions, MembershipEvents, Member, MembershipView } from './membership/index.js';
export { TableBus, MAX_PAYLOAD_BYTES, busTableName, DEFAULT_TABLE_PREFIX } from './bus/index.js';
export type { TableBusOptions, TableBusStats, TableBusEvents, BusHandler, BusMessage } from './bus/index.js';
export { Cluster, createCluster, handleShutdownSignals, LEADER_CHANNEL } from './cluster/index.js';
export type {
  ClusterOptions,
  ClusterEvents,
  SingletonContext,
  SingletonJob,
  SingletonOptions,
  ShutdownSignalOptions,
} from './cluster/index.js';
export { WindowedCounterTable } from './counter/index.js';
export type { WindowedCounterTableOptions, WindowCount } from './counter/index.js';
export { readClusterStatus } from './status/index.js';
export type {
  ReadClusterStatusOptions,
  ClusterStatus,
  MemberStatus,
  ChannelStatus,
  LeaderChange,
} from './status/index.js';
export { transactionsPerNodeHour, estimateCost, DEFAULT_PRICES } from './cost/index.js';
export type { CostTimings, CostEstimate, NodeHourTransactions, TransactionPrices } from './cost/index.js';
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
} from './edge/index.js';
