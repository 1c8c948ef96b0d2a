/**
 * The conventional in-house CRDT (G-counter) rate limiter, backed by gossipless membership and,
 * in table mode, G-counter rows in the table.
 *
 * @example
 * ```ts
 * import { CrdtRateLimiter } from '@gossipless/runtime/shims/crdt-rate-limiter';
 * const limiter = new CrdtRateLimiter({ limit: 600, windowMs: 60_000 });
 * if (!limiter.tryConsume(clientIp)) return res.status(429).end();
 * ```
 *
 * @packageDocumentation
 */
import { CrdtRateLimiter } from './crdt-rate-limiter.js';

export default CrdtRateLimiter;
export { CrdtRateLimiter, CRDT_RATE_LIMITER_API } from './crdt-rate-limiter.js';
export type {
  CrdtRateLimiterEvents,
  CrdtRateLimiterMode,
  CrdtRateLimiterOptions,
  CrdtRateLimiterState,
  GCounterWindow,
  RateLimitDecision,
} from './crdt-rate-limiter.js';
export type { GossiplessShimOptions } from '../cluster-binding/index.js';
