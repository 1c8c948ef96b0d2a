/**
 * Drop-in replacement for `democracy` (UDP unicast leader election and pub/sub): same constructor,
 * `nodes()`, `leader()`, `isLeader()`, `resign()`, `hello()`, `send()`, `subscribe()`, `publish()`
 * and events, backed by a blob lease (leader) and an Azure Table (nodes, messages).
 *
 * @example
 * ```ts
 * import Democracy from '@gossipless/runtime/shims/democracy';
 * const dem = new Democracy({ source: '0.0.0.0:5000', peers: ['10.0.0.2:5000'] });
 * dem.on('elected', () => startLeaderWork());
 * dem.on('resigned', () => stopLeaderWork());
 * ```
 *
 * @packageDocumentation
 */
import { Democracy } from './democracy.js';

export default Democracy;
export { Democracy, RESERVED_EVENTS, TRANSPORT_OPTIONS } from './democracy.js';
export type { DemocracyNode, DemocracyOptions } from './democracy.js';
export type { GossiplessShimOptions } from '../cluster-binding/index.js';
