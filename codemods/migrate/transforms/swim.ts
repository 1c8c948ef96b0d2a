import { rewriteModule } from '../module-rewrite.js';
import type { ModuleMapping, Transform } from '../types.js';

/** Module specifier of the swim shim. */
export const SWIM_SHIM = '@gossipless/runtime/shims/swim';

const VIA_STORAGE = 'the shim tracks members through Azure Storage, not UDP';

/**
 * swim (0.6.x) onto the shim: `module.exports = Swim`, constructed with `new Swim(opts)`.
 *
 * Removed options are the ones swim uses only for its UDP transport (`lib/swim.js`, `lib/net.js`,
 * `lib/codec.js`): `udp` (`type`, `maxDgramSize`) and `codec` (the packet encoding). `local`
 * (`host`, `meta`) stays: it is the member's identity. Failure-detector timings stay too; the shim
 * reads them.
 */
export const swimMapping: ModuleMapping = {
  name: 'swim',
  from: { kind: 'specifier', specifier: 'swim' },
  to: SWIM_SHIM,
  exports: {},
  constructorExport: 'default',
  renameOptions: {},
  removeOptions: {
    udp: `UDP socket settings; ${VIA_STORAGE}`,
    codec: `UDP packet encoding; ${VIA_STORAGE}`,
  },
  // `'swim'` with its quotes: the bare word is too common in prose to be a useful filter.
  preCheck: ["'swim'", '"swim"', '`swim`'],
};

/** Rewrites swim imports and constructor options in one file. */
export const swimTransform: Transform = (sourceFile, context) => {
  const { changes, reviews, rateLimits } = rewriteModule(sourceFile, swimMapping, context);
  return { changes, reviews, rateLimits };
};
