/**
 * `@gossipless/runtime` — blob-lease leadership with fencing epochs, an Azure Table as membership list
 * and bus, singleton jobs, cluster status and the cost model: what a service installs. This file is
 * the runtime's public API: one export list. The shims have their own doors
 * (`@gossipless/runtime/shims/<legacy-module>`); the errors and the redaction helper also have a light
 * door without the Azure SDK (`@gossipless/runtime/errors`), which the toolkit uses.
 *
 * @packageDocumentation
 */
export { GossiplessError, isGossiplessError } from './errors/index.js';
export type { GossiplessErrorCode, GossiplessErrorOptions } from './errors/index.js';
export { redact } from './redact/index.js';
export { TypedEmitter } from './events/index.js';
export { silentLogger, lineLogger } from './log/index.js';
export type { Logger, LogLevel } from './log/index.js';
export { systemClock, skewedClock, ServerTimeEstimate, sleep } from './clock/index.js';
export type { Clock, ServerTimeBounds } from './clock/index.js';
export { defaultNodeId } from './node-id/index.js';
export { VERSION } from './version/index.js';
export {
  connectStorage,
  CONNECTION_STRING_ENV,
  ACCOUNT_NAME_ENV,
  isAlreadyExists,
  isLeaseLost,
  isTransient,
  StorageTransactionCounter,
  classifyStorageRequest,
  STORAGE_TRANSACTION_KINDS,
} from './storage/index.js';
export type {
  StorageTransactionKind,
  BillingClass,
  StorageRequestShape,
  KindCounts,
  TransactionCounts,
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
  LeaseStopOptions,
  LeaderInfo,
  LeaderAnnouncer,
  LeaderAnnouncement,
} from './lease/index.js';
export { Membership } from './membership/index.js';
export type { MembershipOptions, MembershipEvents, Member, MembershipView } from './membership/index.js';
export { TableBus, MAX_PAYLOAD_BYTES, resolveTableBusTimings } from './bus/index.js';
export { busTableName, DEFAULT_TABLE_PREFIX } from './table-layout/index.js';
export type {
  TableBusOptions,
  ResolvedTableBusTimings,
  TableBusStats,
  TableBusEvents,
  BusHandler,
  SubscribeOptions,
  BusMessage,
  DeadLetter,
  RedeliveryOptions,
} from './bus/index.js';
export { parseDeadLetterRow } from './bus/index.js';
export {
  Cluster,
  createCluster,
  handleShutdownSignals,
  LEADER_CHANNEL,
  judgeClusterHealth,
  TRANSACTIONS_PER_HOUR_PROPERTY,
} from './cluster/index.js';
export type {
  ClusterHealth,
  ClusterHealthInputs,
  ClusterOptions,
  ClusterEvents,
  SingletonContext,
  SingletonJob,
  SingletonOptions,
  ShutdownSignalOptions,
} from './cluster/index.js';
export { WindowedCounterTable } from './counter/index.js';
export type { WindowedCounterTableOptions, WindowCount } from './counter/index.js';
export {
  INSTRUMENTS,
  ATTR_CLUSTER,
  ATTR_NODE,
  prometheusSeriesNames,
  observeStorageTransactions,
  TRACE_CONTEXT_PROPERTY,
} from './telemetry/index.js';
export type {
  InstrumentSpec,
  InstrumentKind,
  InstrumentId,
  TransactionSnapshotSource,
  TelemetryIdentity,
} from './telemetry/index.js';
export { readClusterStatus } from './status/index.js';
export type {
  ReadClusterStatusOptions,
  ClusterStatus,
  MemberStatus,
  ChannelStatus,
  LeaderChange,
  DeadLetterStatus,
} from './status/index.js';
export {
  transactionsPerNodeHour,
  estimateCost,
  runtimeCostTimings,
  resolveCostTimings,
  DEFAULT_REPLICA_COUNTS,
  DEFAULT_PRICES,
} from './cost/index.js';
export type {
  CostTimings,
  ResolvedCostTimings,
  CostEstimate,
  NodeHourTransactions,
  TransactionPrices,
} from './cost/index.js';
