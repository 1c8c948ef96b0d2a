export { INSTRUMENTS, ATTR_CLUSTER, ATTR_NODE, prometheusSeriesNames } from './instruments.js';
export type { InstrumentSpec, InstrumentKind, InstrumentId } from './instruments.js';
export {
  leaseTelemetry,
  membershipTelemetry,
  busTelemetry,
  singletonTelemetry,
  observeStorageTransactions,
  TRACE_CONTEXT_PROPERTY,
} from './telemetry.js';
export type {
  TelemetryIdentity,
  LeaseTelemetry,
  LeaseTelemetrySource,
  LeaseCallOutcome,
  MembershipTelemetrySource,
  BusTelemetry,
  BusTelemetrySource,
  BusTelemetryStats,
  PublishTrace,
  SingletonTelemetry,
  SingletonRunInfo,
  TransactionSnapshotSource,
} from './telemetry.js';
