import { rewriteModule } from '../module-rewrite.js';
import { legacyCallFindings } from './legacy-call-checks.js';
import type { TransportOption } from '@gossipless/runtime/shims/node-discover';
import type { ModuleMapping, Transform } from '../types.js';

/** Module specifier of the node-discover shim. */
export const NODE_DISCOVER_SHIM = '@gossipless/runtime/shims/node-discover';

const VIA_STORAGE = 'the shim finds peers through Azure Storage, not UDP';

// Typed by the shim's list, so the codemod removes exactly what the shim ignores.
const REMOVED_OPTIONS: Record<TransportOption, string> = {
  address: `UDP bind address; ${VIA_STORAGE}`,
  broadcast: `UDP broadcast address; ${VIA_STORAGE}`,
  multicast: `UDP multicast group; ${VIA_STORAGE}`,
  multicastTTL: `UDP multicast TTL; ${VIA_STORAGE}`,
  unicast: `UDP unicast peer list; ${VIA_STORAGE}`,
  reuseAddr: `UDP socket option; ${VIA_STORAGE}`,
  exclusive: `UDP socket option; ${VIA_STORAGE}`,
};

/**
 * node-discover (1.2.x) onto the shim. `module.exports = Discover`, callable with and without `new`;
 * the shim's default export has the same shape, so names stay as they are.
 *
 * Removed options are the ones node-discover passes only to its UDP socket (`lib/network.js`):
 * `address`, `broadcast`, `multicast`, `multicastTTL`, `unicast`, `reuseAddr`, `exclusive`.
 * `port` and `key` stay: they are what made nodes one cluster, and the shim derives the cluster
 * identity from them.
 */
export const nodeDiscoverMapping: ModuleMapping = {
  name: 'node-discover',
  from: { kind: 'specifier', specifier: 'node-discover' },
  to: NODE_DISCOVER_SHIM,
  exports: {},
  constructorExport: 'default',
  renameOptions: {},
  removeOptions: REMOVED_OPTIONS,
  preCheck: ['node-discover'],
};

/** Rewrites node-discover imports and constructor options in one file. */
export const nodeDiscoverTransform: Transform = (sourceFile, context) => {
  const { changes, reviews, rateLimits, constructorCalls } = rewriteModule(
    sourceFile,
    nodeDiscoverMapping,
    context,
  );
  const findings = legacyCallFindings(sourceFile, constructorCalls, {
    module: 'node-discover',
    sendMethods: ['send'],
    asyncResults: {
      promote:
        'node-discover promote() set me.isMaster at once; the shim sets it when `promotion` fires (the lease is held): move code that reads me.isMaster right after promote() into a promotion listener',
    },
    checkStopThenExit: true,
  });
  return { changes, reviews: [...reviews, ...findings], rateLimits };
};
