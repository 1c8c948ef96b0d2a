/**
 * Drop-in replacement for the `swim` package (SWIM gossip membership): same constructor,
 * `bootstrap`/`join`/`leave`, `members()`, `whoami()`, `checksum()`, `updateMeta`, events and
 * member states, backed by gossipless membership on an Azure Table.
 *
 * @example
 * ```ts
 * import Swim from '@gossipless/runtime/shims/swim';
 * const swim = new Swim({ local: { host: '10.0.0.7:11000', meta: { app: 'api' } } });
 * swim.bootstrap(['10.0.0.8:11000'], (err) => { if (!err) console.log(swim.members()); });
 * ```
 *
 * @packageDocumentation
 */
import { Swim } from './swim.js';

export default Swim;
export {
  Swim,
  MemberState,
  JoinFailedError,
  InvalidStateError,
  ListenFailedError,
  TRANSPORT_OPTIONS,
} from './swim.js';
export type { MemberStateValue, SwimCallback, SwimMemberData, SwimOptions } from './swim.js';
export type { GossiplessShimOptions } from '../cluster-binding/index.js';
