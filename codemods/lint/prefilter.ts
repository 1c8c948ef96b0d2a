/**
 * The cheap text test that runs before any parsing. Every finding of `no-self-disabling-discovery`
 * needs discovery work, and every kind of discovery work the rule recognises leaves one of these
 * tokens in the file's text: a module name (`dgram`, `node-discover`, `swim`, …), a multicast
 * method (`addMembership`, `setBroadcast`), a discovery noun in a name (`startDiscovery`,
 * `this.gossip`), or a group verb next to a group noun (`joinCluster`, `findPeers`,
 * `cluster.join(`). A file without any of them cannot produce a finding, so it is never parsed.
 * Keep this in step with `rules/no-self-disabling-discovery/names.ts` and `modules.ts`.
 */
const DISCOVERY_TEXT = new RegExp(
  [
    'discover',
    'gossip',
    'multicast',
    'membership',
    'swim',
    'ringpop',
    'mdns',
    'bonjour',
    'zeroconf',
    'serf',
    'scuttlebutt',
    'ssdp',
    'dgram',
    'polo',
    'cote',
    'setBroadcast',
    '(?:joins?|joining|bootstrap|bootstrapping|find|lookup|scan|fetch|load|refresh|resolve|announce|form)[_-]?(?:cluster|peers?|mesh|ring|swarm|seeds)',
    '(?:cluster|peers?|mesh|ring|swarm|seeds)[_-]?(?:joins?|joining|bootstrap|bootstrapping|find|lookup|scan|fetch|load|refresh|resolve|announce|form)',
    '(?:cluster|peers?|mesh|ring|swarm|seeds)\\w*\\s*\\??\\.\\s*(?:join|bootstrap|discover)\\b',
  ].join('|'),
  'i',
);

/** True when `text` may contain discovery work; false means the file cannot have a finding. */
export function mightContainDiscovery(text: string): boolean {
  return DISCOVERY_TEXT.test(text);
}
