/**
 * The cheap text test that runs before any parsing. Every finding of `no-self-disabling-discovery`
 * needs discovery work, and every kind of discovery work the rule recognises leaves one of these
 * tokens in the file's text: a module name (`dgram`, `node-discover`, `swim`, …), a multicast
 * method (`addMembership`, `setBroadcast`), a discovery noun starting a word of an identifier
 * (`startDiscovery`, `this.gossip`, `GOSSIP_PORT`), a group verb next to a group noun (`joinCluster`,
 * `findPeers`), a join on a group receiver (`this.cluster.join(`), a DNS-SD service type
 * (`'_hap._tcp'`), a registration with a service registry (`registry.register(`), or a class
 * that keeps the peers (`class HostList`), or a process-local stand-in (`new LocalPresence()`). A file
 * without any of them
 * cannot produce a finding, so it is never parsed.
 *
 * Tokens must start a word the way `splitWords` in `rules/no-self-disabling-discovery/names.ts`
 * cuts identifiers (after a non-alphanumeric, or as a capitalised camelCase part): "userFacing"
 * does not contain the word "serf", "topology" does not contain "polo". The word lists are the
 * rule's own (`names.ts`); module names stay in step with `modules.ts`.
 */
import {
  DISCOVERY_NOUN_WORDS,
  GROUP_NOUN_WORDS,
  GROUP_VERB_WORDS,
} from './rules/no-self-disabling-discovery/names.js';

/** `word` starting an identifier word: `word…`/`WORD…` after a non-alphanumeric, or `Word…` anywhere. */
function wordStart(word: string): string {
  const capitalised = word.charAt(0).toUpperCase() + word.slice(1);
  return `(?:(?<![A-Za-z0-9])(?:${word}|${word.toUpperCase()})|${capitalised})`;
}

/**
 * Module names that are not also discovery nouns (`'node:dgram'`, `'polo'`, `'cote'`, a DHT's
 * `'bittorrent-dht'`), and the error-first transports of `modules.ts` (`'zeromq'`), whose sockets
 * carry peer traffic.
 */
const MODULE_NAMES = ['dgram', 'polo', 'cote', 'dnssd', 'zeromq', 'zmq', 'dht', 'kademlia'];

const either = (words: readonly string[]): string => `(?:${words.map(wordStart).join('|')})`;

const DISCOVERY_TEXT = new RegExp(
  [
    either(DISCOVERY_NOUN_WORDS),
    either(MODULE_NAMES),
    'setBroadcast',
    // `ZooKeeper` and `zkClient`, which camelCase cuts in two (names.ts reads them as pairs).
    'ZooKeeper|(?<![A-Za-z0-9])zkClient|ZkClient',
    // A DNS-SD service type (`'_hap._tcp'`): the file advertises or browses services.
    '\\._(?:tcp|udp)(?![A-Za-z0-9])',
    `${either(GROUP_VERB_WORDS)}[_-]?${either(GROUP_NOUN_WORDS)}`,
    `${either(GROUP_NOUN_WORDS)}[_-]?${either(GROUP_VERB_WORDS)}`,
    `${either(GROUP_NOUN_WORDS)}\\w*\\s*\\??\\.\\s*(?:join|bootstrap|discover)\\b`,
    // Registering with a service registry: `this.registry.registerServices(`.
    '(?:registry|Registry)\\w*\\s*\\??\\.\\s*register',
    // Starting what registers this node: `this.registerServerManager?.start()`.
    '(?<![A-Za-z0-9])(?:register|registration)\\w*\\s*\\??\\.\\s*(?:start|run)\\s*\\(',
    // The class that keeps the peers (`class HostList`, `class PeerTable`): what it looks up fills it.
    'class\\s+\\w*(?:Peer|Host|Node|Member|Seed)(?:List|Table|Set|Book|Store)\\b',
    // A process-local stand-in made on a failure path (`new LocalPresence()`, `new MemoryStore()`).
    'new\\s+(?:\\w+\\.)?(?:Local|InMemory|Memory|Standalone|SingleNode)[A-Z]\\w*\\s*\\(',
  ].join('|'),
);

/** True when `text` may contain discovery work; false means the file cannot have a finding. */
export function mightContainDiscovery(text: string): boolean {
  return DISCOVERY_TEXT.test(text);
}
