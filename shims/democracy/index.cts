/**
 * CommonJS door of the democracy shim: `module.exports = Democracy`, as democracy has it. Built only
 * by tsconfig.cjs.json.
 *
 * @packageDocumentation
 */
import * as shim from './democracy.js';
import type { GossiplessShimOptions as ShimOptions } from '../cluster-binding/index.js';

/** democracy's export. */
const Democracy = shim.Democracy;

// `export =` cannot sit beside named exports, and a namespace is the only way to attach types to it.
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace Democracy {
  /** An instance (`const d: Democracy.Democracy = new Democracy(...)`). */
  export type Democracy = shim.Democracy;
  export type DemocracyOptions = shim.DemocracyOptions;
  export type DemocracyNode = shim.DemocracyNode;
  export type GossiplessShimOptions = ShimOptions;
}

export = Democracy;
