/**
 * CommonJS door of the CRDT limiter shim: `module.exports = CrdtRateLimiter`, with
 * `CrdtRateLimiter.CrdtRateLimiter` and `.default` so both `require(...)` and
 * `const { CrdtRateLimiter } = require(...)` work. Built only by tsconfig.cjs.json.
 *
 * @packageDocumentation
 */
import * as shim from './crdt-rate-limiter.js';
import type { GossiplessShimOptions as ShimOptions } from '../cluster-binding/index.js';

/** The limiter class, carrying its named exports as statics for destructuring `require`. */
const CrdtRateLimiter = Object.assign(shim.CrdtRateLimiter, {
  CrdtRateLimiter: shim.CrdtRateLimiter,
  default: shim.CrdtRateLimiter,
  CRDT_RATE_LIMITER_API: shim.CRDT_RATE_LIMITER_API,
});

// `export =` cannot sit beside named exports, and a namespace is the only way to attach types to it.
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace CrdtRateLimiter {
  export type CrdtRateLimiter = shim.CrdtRateLimiter;
  export type CrdtRateLimiterOptions = shim.CrdtRateLimiterOptions;
  export type CrdtRateLimiterMode = shim.CrdtRateLimiterMode;
  export type CrdtRateLimiterState = shim.CrdtRateLimiterState;
  export type CrdtRateLimiterEvents = shim.CrdtRateLimiterEvents;
  export type GCounterWindow = shim.GCounterWindow;
  export type RateLimitDecision = shim.RateLimitDecision;
  export type GossiplessShimOptions = ShimOptions;
}

export = CrdtRateLimiter;
