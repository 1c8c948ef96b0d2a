import { rewriteModule } from '../module-rewrite.js';
import type { ModuleMapping, Transform } from '../types.js';
import { legacyCallFindings } from './legacy-call-checks.js';

/** Module specifier of the democracy shim. */
export const DEMOCRACY_SHIM = '@gossipless/runtime/shims/democracy';

const VIA_STORAGE = 'the shim finds peers through Azure Storage, not UDP';

/**
 * democracy (3.x) onto the shim: `module.exports = Democracy`, constructed with `new Democracy(opts)`.
 *
 * Removed options are the ones democracy uses only for its UDP socket (`lib/democracy.js`): `source`
 * (bind address), `peers` (the unicast list) and `maxPacketSize` (chunking). `id`, `weight`,
 * `interval`, `timeout` and `channels` stay; the shim reads them.
 */
export const democracyMapping: ModuleMapping = {
  name: 'democracy',
  from: { kind: 'specifier', specifier: 'democracy' },
  to: DEMOCRACY_SHIM,
  exports: {},
  constructorExport: 'default',
  renameOptions: {},
  removeOptions: {
    source: `UDP bind address; ${VIA_STORAGE}`,
    peers: `UDP unicast peer list; ${VIA_STORAGE}`,
    maxPacketSize: `UDP datagram size; ${VIA_STORAGE}`,
  },
  // With its quotes: the bare word is common in prose.
  preCheck: ["'democracy'", '"democracy"', '`democracy`'],
};

/** Rewrites democracy imports and constructor options in one file, and reports channel timeouts. */
export const democracyTransform: Transform = (sourceFile, context) => {
  const { changes, reviews, rateLimits, constructorCalls } = rewriteModule(
    sourceFile,
    democracyMapping,
    context,
  );
  const findings = legacyCallFindings(sourceFile, constructorCalls, {
    module: 'democracy',
    sendMethods: ['send', 'publish'],
    // democracy has no stop(): nothing to release before an exit.
    checkStopThenExit: false,
  });
  return { changes, reviews: [...reviews, ...findings], rateLimits };
};
