import { rewriteModule } from '../module-rewrite.js';
import type { ModuleMapping, Transform } from '../types.js';
import { isCrdtRateLimiterMapping, rewriteAndExtract } from './crdt-rate-limiter.js';

/**
 * The transform for an in-house module mapped in `gossipless.config.json`: the same import and
 * option rewriting as the built-ins, plus rate-limit extraction when the module is a limiter mapped
 * onto the CRDT limiter shim.
 */
export function inHouseModuleTransform(mapping: ModuleMapping): Transform {
  if (isCrdtRateLimiterMapping(mapping)) {
    return (sourceFile, context) => rewriteAndExtract(sourceFile, mapping, context);
  }
  return (sourceFile, context) => {
    const { changes, reviews, rateLimits } = rewriteModule(sourceFile, mapping, context);
    return { changes, reviews, rateLimits };
  };
}
