/**
 * node-discover's options that only shaped its UDP traffic (`lib/network.js`): the shim accepts and
 * ignores them with one warning, and `gossipless migrate` removes them. One list for both, and for
 * bench/migrate's jscodeshift anchor; it imports nothing, so light consumers can take it alone.
 */
export const TRANSPORT_OPTIONS = [
  'address',
  'broadcast',
  'multicast',
  'multicastTTL',
  'unicast',
  'reuseAddr',
  'exclusive',
] as const;

/** One of {@link TRANSPORT_OPTIONS}. */
export type TransportOption = (typeof TRANSPORT_OPTIONS)[number];
