/**
 * Drop-in replacement for `node-discover`: same call forms, options, methods, events and payload
 * shapes, backed by a blob lease (master) and an Azure Table (nodes, channels).
 *
 * @example
 * ```ts
 * import Discover from '@gossipless/runtime/shims/node-discover';
 * const d = new Discover({ port: 12345, advertisement: { http: 8080 } });
 * d.on('promotion', () => startMasterWork());
 * d.on('demotion', () => stopMasterWork());
 * d.on('added', (node) => console.log('peer', node.id, node.advertisement));
 * ```
 *
 * @packageDocumentation
 */
import { DiscoverFactory, type Discover as DiscoverInstance } from './discover.js';

/** node-discover's default export: callable with or without `new`, with `weight` and elector statics. */
const Discover = DiscoverFactory;
/** A node-discover instance. */
type Discover = DiscoverInstance;

export default Discover;
export { Discover };
export {
  BasicLeadershipElection,
  NoLeadershipElection,
  RESERVED_CHANNELS,
  TRANSPORT_OPTIONS,
} from './discover.js';
export type {
  DiscoverCallback,
  DiscoverFactory,
  DiscoverMe,
  DiscoverNode,
  DiscoverOptions,
  DiscoverPacket,
  DiscoverRemoteInfo,
  DiscoverSettings,
  IntervalSetting,
  LeadershipElection,
} from './discover.js';
export type { GossiplessShimOptions } from '../cluster-binding/index.js';
export type { TransportOption } from './transport-options.js';
