/**
 * Word-level reading of identifiers. The rule never matches a name as a substring ("discovery" in
 * "rediscoveryTimeout" would be a false alarm); it splits `startGossipJoin`, `GOSSIP_JOIN` and
 * `gossip-join` into words and asks about words.
 */

const wordCache = new Map<string, readonly string[]>();
/** Beyond this many distinct names the cache is dropped, so a huge bundle cannot grow it forever. */
const WORD_CACHE_LIMIT = 50_000;

/**
 * Splits an identifier into lower-case words: `joinSwimCluster` → `['join', 'swim', 'cluster']`.
 * Memoised: the same names come back thousands of times in a big file.
 */
export function splitWords(name: string): readonly string[] {
  let words = wordCache.get(name);
  if (words === undefined) {
    if (wordCache.size >= WORD_CACHE_LIMIT) wordCache.clear();
    words = computeWords(name);
    wordCache.set(name, words);
  }
  return words;
}

function computeWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase());
}

/** Words that on their own mean "this is peer discovery". Also the text pre-filter's tokens. */
export const DISCOVERY_NOUN_WORDS: readonly string[] = [
  'discover',
  'discovery',
  'discoverer',
  'gossip',
  'gossiper',
  'gossips',
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
  // Ethereum's node discovery protocols (`discv5.setEnrValue`, `Discv4`).
  'discv4',
  'discv5',
  // Coordination services a node registers with or learns its peers (or its master) from. ("zk"
  // alone is as often zero-knowledge as ZooKeeper: only a `zkClient` counts, below.)
  'zookeeper',
  'etcd',
  'consul',
  'eureka',
  'nacos',
  'sentinel',
  'sentinels',
  // Electing a leader among peers is the other half of what discovery was for.
  'election',
];
const DISCOVERY_NOUNS = new Set(DISCOVERY_NOUN_WORDS);

/** Nouns that mean discovery only together with a verb below (`joinCluster`, `findPeers`). */
export const GROUP_NOUN_WORDS: readonly string[] = [
  'cluster',
  'peer',
  'peers',
  'mesh',
  'ring',
  'swarm',
  'seeds',
];
const GROUP_NOUNS = new Set(GROUP_NOUN_WORDS);
export const GROUP_VERB_WORDS: readonly string[] = [
  'join',
  'joins',
  'joining',
  'bootstrap',
  'bootstrapping',
  'find',
  'discover',
  'lookup',
  'scan',
  'fetch',
  'load',
  'refresh',
  'resolve',
  'announce',
  'form',
];
const GROUP_VERBS = new Set(GROUP_VERB_WORDS);

/**
 * Words that say a name is about configuration, parsing, logging or metrics of discovery rather
 * than the discovery itself: `loadDiscoveryConfig()` failing is a config problem, not a swallowed
 * discovery failure.
 */
const NOT_WORK_WORDS = new Set([
  'config',
  'configuration',
  'options',
  'opts',
  'settings',
  'schema',
  'parse',
  'parser',
  'serialize',
  'deserialize',
  'format',
  'validate',
  'log',
  'logger',
  'metrics',
  'stats',
  'tracer',
  'test',
  'mock',
  'render',
  // "Discovery" of things that are not peers: OpenID Connect issuers, plugins, files, tests, devices.
  'issuer',
  'authority',
  'metadata',
  'openid',
  'oidc',
  'oauth',
  'jwks',
  'plugin',
  'plugins',
  'file',
  'files',
  'tests',
  'module',
  'modules',
  'package',
  'packages',
  'route',
  'routes',
  'schemas',
  'command',
  'commands',
  'extension',
  'extensions',
  'project',
  'projects',
  'workspace',
  'workspaces',
  'typings',
  // Devices found through a vendor's cloud API (`discoverDevices()` → `this.loadDevices()`) are
  // not peers; a socket bound by such a function is still LAN discovery (see `namesDeviceDiscovery`).
  'device',
  'devices',
  'bluetooth',
  'ble',
  // One thing looked up by its identity (`discoverCompanionAppId`) is not a group of peers.
  'id',
  'uuid',
  'companion',
  'characteristic',
  'characteristics',
  'gatt',
  // A Bluetooth LE peripheral's services are discovered on the device, not among peers.
  'peripheral',
  'peripherals',
  // User-interface code named for what it shows (`DiscoveryPage`, `useDiscoveryFeed`).
  'page',
  'view',
  'screen',
  'component',
  'panel',
  'modal',
  'widget',
  'feed',
]);

/** True when one of `names` (a callee chain) says the discovery is not of peers (`Issuer.discover`). */
export function namesNonPeerDiscovery(names: readonly string[]): boolean {
  return names.some((name) => splitWords(name).some((word) => NOT_WORK_WORDS.has(word)));
}

/** Leading words of predicates: `isDiscoveryResponse()` inspects a value, it does not discover. */
const PREDICATE_PREFIXES = new Set(['is', 'has', 'should', 'can', 'was']);

/** True when `name` names peer discovery, gossip or membership work. */
export function namesDiscovery(name: string): boolean {
  const words = splitWords(name);
  if (words.some((word) => NOT_WORK_WORDS.has(word))) return false;
  if (PREDICATE_PREFIXES.has(words[0] ?? '')) return false;
  if (words.some((word) => DISCOVERY_NOUNS.has(word)) || hasDiscoveryPair(words)) return true;
  // Verb and group noun side by side (`joinCluster`, `clusterJoin`, `findPeers`): apart they are
  // everywhere (`loadUserRing`), together they say discovery.
  return words.some(
    (word, index) =>
      GROUP_NOUNS.has(word) &&
      (GROUP_VERBS.has(words[index - 1] ?? '') || GROUP_VERBS.has(words[index + 1] ?? '')),
  );
}

/**
 * `discoverLocalDevices`, `DeviceDiscovery`: discovery of devices. On its own it may be a cloud API
 * lookup; a socket such a function or class binds is LAN discovery all the same.
 */
export function namesDeviceDiscovery(name: string): boolean {
  const words = splitWords(name).filter((word) => word !== 'device' && word !== 'devices');
  return words.length > 0 && namesDiscovery(words.join('_'));
}

/** True when `name` contains a discovery noun (used for receivers: `this.gossip`, `membershipClient`). */
export function namesDiscoveryObject(name: string): boolean {
  const words = splitWords(name);
  if (words.some((word) => NOT_WORK_WORDS.has(word))) return false;
  return words.some((word) => DISCOVERY_NOUNS.has(word)) || hasDiscoveryPair(words);
}

function hasDiscoveryPair(words: readonly string[]): boolean {
  return words.some((word, index) => {
    const second = DISCOVERY_PAIRS.get(word);
    return second !== undefined && second === words[index + 1];
  });
}

/** Discovery nouns that camelCase cuts in two: `ZooKeeper` → zoo, keeper; `zkClient` → zk, client. */
const DISCOVERY_PAIRS: ReadonlyMap<string, string> = new Map([
  ['zoo', 'keeper'],
  ['zk', 'client'],
  // `tryToBecomeLeader()`, `becomeLeader`: campaigning in an election. (In a failure handler the
  // same name is a fallback to leader; see `namesFallbackCall`.)
  ['become', 'leader'],
]);

const LEADER_WORDS = new Set([
  'leader',
  'leading',
  'master',
  'primary',
  'coordinator',
  'standalone',
  'alone',
  'solo',
  'single',
]);

/** True when a flag called `name` being set to true means "I am the leader / on my own". */
export function namesLeadership(name: string): boolean {
  return splitWords(name).some((word) => LEADER_WORDS.has(word));
}

/** String values that, assigned to a role or mode, declare leadership or single-node operation. */
export function isLeadershipValue(value: string): boolean {
  return /^(leader|master|primary|coordinator|standalone|single|single-node|solo|alone)$/i.test(value);
}

const DISABLE_FLAG_WORDS = new Set([
  'discover',
  'discovery',
  'gossip',
  'multicast',
  'broadcast',
  'membership',
  'clustered',
  'clustering',
  'cluster',
  'distributed',
  'mdns',
  'swim',
  'ringpop',
]);

/** True when a flag called `name` being set to false switches discovery or clustering off. */
export function namesDiscoveryFlag(name: string): boolean {
  return splitWords(name).some((word) => DISABLE_FLAG_WORDS.has(word));
}

const PEER_LIST_WORDS = new Set([
  'peers',
  'peer',
  'members',
  'nodes',
  'hosts',
  'seeds',
  'ring',
  'membership',
  // The nodes a new member contacts first, by another name (a mesh's "base nodes").
  'bases',
]);

/** True when `name` holds the list of peers or members. */
export function namesPeerList(name: string): boolean {
  return splitWords(name).some((word) => PEER_LIST_WORDS.has(word));
}

const PEER_WORDS = new Set(['peer', 'host', 'node', 'member', 'seed']);
const COLLECTION_WORDS = new Set(['list', 'table', 'set', 'book', 'store']);

/**
 * True when `name` is a collection of peers: `HostList`, `PeerTable`, `MemberSet`, `SeedStore`,
 * or a plural peer-list word on its own (`Peers`, `Members`).
 */
export function namesPeerCollection(name: string): boolean {
  const words = splitWords(name);
  if (words.some((word) => NOT_WORK_WORDS.has(word))) return false;
  if (words.length === 1 && PEER_LIST_WORDS.has(words[0]!) && words[0]!.endsWith('s')) return true;
  return words.some((word, index) => PEER_WORDS.has(word) && COLLECTION_WORDS.has(words[index + 1] ?? ''));
}

const SIZE_WORDS = new Set(['size', 'count']);

/** True when `name` holds the cluster size (setting it to 1 means "I am alone"). */
export function namesClusterSize(name: string): boolean {
  const words = splitWords(name);
  return (
    words.some((word) => word === 'cluster' || word === 'node' || word === 'member' || word === 'peer') &&
    words.some((word) => SIZE_WORDS.has(word))
  );
}

const HEALTH_WORDS = new Set(['healthy', 'health', 'ready', 'readiness', 'live', 'alive', 'liveness']);

/** True when `name` is a health or readiness flag: clearing it surfaces the failure to the platform. */
export function namesHealth(name: string): boolean {
  return splitWords(name).some((word) => HEALTH_WORDS.has(word));
}

/**
 * Callee names that fall back to single-node operation or switch discovery off:
 * `becomeLeader()`, `runStandalone()`, `disableDiscovery()`, `fallbackToSingleNode()`.
 */
export function namesFallbackCall(name: string): boolean {
  const words = splitWords(name);
  const has = (word: string): boolean => words.includes(word);
  if (has('standalone') || has('alone') || has('solo')) return true;
  if (has('single') && (has('node') || has('mode') || has('instance'))) return true;
  if (has('fallback') || (has('fall') && has('back'))) return true;
  if ((has('leader') || has('master') || has('leadership')) && !has('get') && !has('is') && !has('has')) {
    return words.some((word) =>
      ['become', 'promote', 'assume', 'elect', 'act', 'claim', 'take', 'start', 'run', 'as', 'self'].includes(
        word,
      ),
    );
  }
  if (has('disable') || has('stop') || has('turn')) {
    return words.some((word) => DISABLE_FLAG_WORDS.has(word));
  }
  return false;
}

/** Callee names that schedule another attempt. */
export function namesRetry(name: string): boolean {
  const words = splitWords(name);
  return words.some((word) =>
    ['retry', 'retries', 'reconnect', 'backoff', 'reschedule', 'rejoin', 'restart'].includes(word),
  );
}

/** Identifier names that count attempts or bound them: `attempt`, `retries`, `maxRetries`. */
export function namesAttemptCounter(name: string): boolean {
  return splitWords(name).some((word) =>
    ['attempt', 'attempts', 'retry', 'retries', 'tries', 'max', 'limit', 'budget', 'remaining'].includes(
      word,
    ),
  );
}

/** Events whose emission says "I am the leader now". */
export function isLeadershipEvent(name: string): boolean {
  return /^(leader|elected|master|promoted|promotion|standalone|leadership)$/i.test(name);
}

const MESSAGE_WORDS = new Set([
  'message',
  'messages',
  'rpc',
  'packet',
  'packets',
  'datagram',
  'frame',
  'request',
  'response',
  'reply',
  'answer',
]);

/**
 * True when `name` handles one received message (`handleReceivedRpc`, `onMessage`,
 * `handleDiscoveryPacket`): what fails in it is that message's, and the next one is read.
 */
export function namesMessageHandler(name: string): boolean {
  const words = splitWords(name);
  if (words.includes('received')) return true;
  return (words[0] === 'handle' || words[0] === 'on') && words.some((word) => MESSAGE_WORDS.has(word));
}
