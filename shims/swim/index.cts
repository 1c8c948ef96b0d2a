/**
 * CommonJS door of the swim shim: `module.exports = Swim`, as swim has it (with `Swim.Error`,
 * `Swim.EventType`, `Swim.State`). Built only by tsconfig.cjs.json.
 *
 * @packageDocumentation
 */
import * as shim from './swim.js';
import type { GossiplessShimOptions as ShimOptions } from '../cluster-binding/index.js';

/** swim's export. */
const Swim = shim.Swim;

// `export =` cannot sit beside named exports, and a namespace is the only way to attach types to it.
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace Swim {
  /** An instance (`const s: Swim.Swim = new Swim(...)`). */
  export type Swim = shim.Swim;
  export type SwimOptions = shim.SwimOptions;
  export type SwimMemberData = shim.SwimMemberData;
  export type SwimCallback = shim.SwimCallback;
  export type MemberStateValue = shim.MemberStateValue;
  export type GossiplessShimOptions = ShimOptions;
}

export = Swim;
