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
