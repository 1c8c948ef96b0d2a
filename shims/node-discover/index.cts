/**
 * CommonJS door of the node-discover shim: `module.exports = Discover`, as node-discover has it,
 * so `const Discover = require('@gossipless/runtime/shims/node-discover')` works unchanged. Built only by
 * tsconfig.cjs.json (Node 20 cannot require() the ESM build).
 *
 * @packageDocumentation
 */
import * as shim from './discover.js';
import type { GossiplessShimOptions as ShimOptions } from '../cluster-binding/index.js';

/** node-discover's export: callable with or without `new`, with `weight` and elector statics. */
const Discover: shim.DiscoverFactory = shim.DiscoverFactory;

// The types travel on the export's namespace: `Discover.DiscoverOptions`, `Discover.DiscoverNode`, …
// `export =` cannot sit beside named exports, and a namespace is the only way to attach types to it.
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace Discover {
  export type Discover = shim.Discover;
  export type DiscoverOptions = shim.DiscoverOptions;
  export type DiscoverNode = shim.DiscoverNode;
  export type DiscoverMe = shim.DiscoverMe;
  export type DiscoverPacket<T = unknown> = shim.DiscoverPacket<T>;
  export type DiscoverRemoteInfo = shim.DiscoverRemoteInfo;
  export type DiscoverCallback = shim.DiscoverCallback;
  export type DiscoverSettings = shim.DiscoverSettings;
  export type IntervalSetting = shim.IntervalSetting;
  export type LeadershipElection = shim.LeadershipElection;
  export type GossiplessShimOptions = ShimOptions;
}

export = Discover;
