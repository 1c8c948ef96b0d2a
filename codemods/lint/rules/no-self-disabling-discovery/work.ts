import { outermostWrapperOf, ts } from '../../../syntax/index.js';
import {
  LISTENER_METHODS,
  MULTICAST_METHODS,
  chainNames,
  functionName,
  isSelfReference,
  functionsAround,
  isUnrelatedCall,
  namesTeardown,
  namesUnrelatedWork,
  repliesToSender,
  type DiscoveryContext,
} from './context.js';
import { catchSwallows, cannotFail } from './cannot-fail.js';
import { logLevelOf } from './handler.js';
import { discoveryModuleOf, requiredSpecifier, skipWrappers } from './modules.js';
import {
  namesDiscovery,
  namesMessageHandler,
  namesNonPeerDiscovery,
  namesPeerList,
  splitWords,
} from './names.js';

/** A piece of discovery work found under a handler, described for the message. */
export interface DiscoveryWork {
  readonly node: ts.CallExpression | ts.NewExpression;
  /** `` `swim.bootstrap()` (swim) `` */
  readonly description: string;
}

/** How deep the rule follows calls into functions declared in the same file (`this.joinMesh()` → its body). */
const MAX_LOCAL_DEPTH = 2;

/** Short source text of a callee, for messages: `this.swim.bootstrap()`. */
export function describeCallee(
  call: ts.CallExpression | ts.NewExpression,
  sourceFile: ts.SourceFile,
): string {
  const text = call.expression.getText(sourceFile).replace(/\s+/g, '');
  const short = text.length > 60 ? `…${text.slice(-59)}` : text;
  return `${ts.isNewExpression(call) ? 'new ' : ''}${short}()`;
}

/** Methods that read or tune the local end of a socket or emitter and do not fail on the network. */
const READS_LOCAL_STATE = new Set([
  'address',
  'remoteAddress',
  'ref',
  'unref',
  'listenerCount',
  'eventNames',
  'getRecvBufferSize',
  'getSendBufferSize',
]);

/** Map, Set and array bookkeeping: never a network call. */
const COLLECTION_METHODS = new Set([
  'set',
  'get',
  'has',
  'delete',
  'add',
  'push',
  'keys',
  'values',
  'entries',
]);

/**
 * Classifies one call as discovery work, or not. Resolution first (what the file imported and made
 * from it), names second, and only names that say discovery on their own or with a group verb.
 */
export function classifyCall(
  call: ts.CallExpression | ts.NewExpression,
  context: DiscoveryContext,
  depth = 0,
  seen: Set<ts.Node> = new Set(),
): string | undefined {
  const description = classifyWork(call, context, depth, seen);
  if (description === undefined) return undefined;
  // A function of this file that catches every failure itself hands none to this caller. Asked
  // only of calls found to be discovery work: most calls are not, and the lookup is not free.
  const local = context.localCallee(call);
  return local?.body && cannotFail(local, context) ? undefined : description;
}

function classifyWork(
  call: ts.CallExpression | ts.NewExpression,
  context: DiscoveryContext,
  depth: number,
  seen: Set<ts.Node>,
): string | undefined {
  const callee = skipWrappers(call.expression);
  const described = (): string => describeCallee(call, context.sourceFile);
  const loaded = ts.isCallExpression(call) ? requiredSpecifier(call) : undefined;
  if (loaded !== undefined) {
    return loadsDiscoveryCode(loaded) && insideAFunction(call) ? `loading \`${loaded}\`` : undefined;
  }
  const module = context.originOf(callee);
  // Names decide only when resolution did not: `Issuer.discover()` is an identity provider's metadata.
  const namedNonPeer = (): boolean => module === undefined && context.isNonPeerDiscovery(callee);
  if (ts.isPropertyAccessExpression(callee)) {
    const method = callee.name.text;
    const receiver = callee.expression;
    if (MULTICAST_METHODS.has(method)) return `\`${described()}\` (multicast/broadcast socket setup)`;
    if (LISTENER_METHODS.has(method) || READS_LOCAL_STATE.has(method)) return undefined;
    // `this.stopDiscovery()`: taking discovery down is teardown, whatever its name says it stops.
    if (namesTeardown(method)) return undefined;
    if (module?.kind === 'membership') return `\`${described()}\` (${module.name})`;
    // `this.ongoingDiscoverySessions.set(id, s)`, `serviceDiscovery.isEnabled()`: a collection's
    // bookkeeping or a predicate, whatever the receiver is called (a registry client's `get` is not
    // this: it was recognised above).
    if (COLLECTION_METHODS.has(method) || /^(is|has|can|should)[A-Z]/.test(method)) return undefined;
    if (module?.kind === 'dgram') {
      if (
        (method === 'bind' || (method === 'send' && ts.isCallExpression(call) && !repliesToSender(call))) &&
        context.isDiscoveryObject(receiver)
      ) {
        return `\`${described()}\` (dgram socket used for peer discovery)`;
      }
      return undefined;
    }
    if (namedNonPeer() || namesUnrelatedWork(method)) return undefined;
    if (namesDiscovery(method) || advertisesService(method, context)) return `\`${described()}\``;
    const receiverNames = chainNames(receiver);
    if (registersWithARegistry(method, receiverNames)) return `\`${described()}\` (service registry)`;
    const last = receiverNames[receiverNames.length - 1];
    // `this.x()` in the wrapper that owns a discovery socket is discovery work only when `x` is
    // (its name above, or its body below): such a class also parses, encrypts and times out.
    if (context.isDiscoveryObject(receiver) && !isSelfReference(receiver) && !isArrayJoin(method, call, last))
      return `\`${described()}\``;
    if (
      last !== undefined &&
      (method === 'join' || method === 'bootstrap' || method === 'discover') &&
      splitWords(last).some((word) =>
        ['cluster', 'mesh', 'ring', 'swarm', 'peers', 'seeds'].includes(word),
      ) &&
      !isArrayJoin(method, call, last)
    ) {
      return `\`${described()}\``;
    }
  } else if (ts.isIdentifier(callee)) {
    if (module?.kind === 'membership') return `\`${described()}\` (${module.name})`;
    if ((namesDiscovery(callee.text) || advertisesService(callee.text, context)) && !namedNonPeer()) {
      return `\`${described()}\``;
    }
  } else if (module?.kind === 'membership') {
    return `\`${described()}\` (${module.name})`;
  }
  if (depth < MAX_LOCAL_DEPTH) {
    const local = context.localCallee(call);
    const localName = local === undefined ? undefined : functionName(local);
    // Handling one received message is per-message work, whatever it touches.
    if (local?.body && !seen.has(local) && !(localName !== undefined && namesMessageHandler(localName))) {
      seen.add(local);
      const inner = findDiscoveryWork(local.body, context, undefined, depth + 1, seen);
      if (inner) return `${inner.description} via \`${described()}\``;
    }
  }
  return undefined;
}

/**
 * `require('mdns')`, `await import('@acme/gossip')`, `require('./discovery')`: a discovery library,
 * or a local module named for discovery, that fails to load leaves discovery off (dgram is core).
 */
function loadsDiscoveryCode(specifier: string): boolean {
  const module = discoveryModuleOf(specifier);
  // The package itself: a file deep inside it (`mdns/dist/NetworkInterface`) is a patch or a helper.
  if (module !== undefined) return module.kind !== 'dgram' && specifier === module.name;
  if (!specifier.startsWith('.')) return false;
  const file = specifier.split('/').pop() ?? '';
  return namesDiscovery(file.replace(/\.[cm]?[jt]s$/, ''));
}

/**
 * Loaded inside a function (the one that starts discovery), not at the top of the module: a
 * top-level `try { mdns = require('mdns') } catch { mdns = undefined }` probes an optional
 * dependency when the file loads, and the start path decides what its absence means.
 */
function insideAFunction(call: ts.Node): boolean {
  return !functionsAround(call).next().done;
}

/**
 * `registry.registerServices(…)`, `this.props.registry.registerConsumers(…)`: this node putting
 * itself in a service registry, the list its peers find it in. A metrics, plugin or command
 * registry is not one (`namesNonPeerDiscovery`).
 */
function registersWithARegistry(method: string, receiverNames: readonly string[]): boolean {
  if (namesNonPeerDiscovery([method, ...receiverNames])) return false;
  // `this.registerServerManager.start()`: starting what registers this server with a discovery server.
  const last = receiverNames[receiverNames.length - 1];
  if ((method === 'start' || method === 'run') && last !== undefined) {
    const words = splitWords(last);
    if (words[0] === 'register' || words[0] === 'registration') return true;
  }
  if (splitWords(method)[0] !== 'register') return false;
  return receiverNames.some((name) => splitWords(name).includes('registry'));
}

/** Words of a call that publishes this node's service: discovery work where the file names a service type. */
const ADVERTISING_WORDS = new Set(['advertise', 'advertising', 'advertisement', 'readvertise']);

/**
 * `startAdvertising()`, `advertiser.readvertise()` in a file that names a DNS-SD service type
 * (`'_hap._tcp'`): advertising a service over mDNS is how peers find this one. Elsewhere
 * "advertisement" is as likely to be an ad banner. (`publish` stays out: next to a service type it
 * is as often an MQTT topic's; the mDNS libraries that call it so are recognised by module.)
 */
function advertisesService(name: string, context: DiscoveryContext): boolean {
  return context.namesServiceType && splitWords(name).some((word) => ADVERTISING_WORDS.has(word));
}

/**
 * Verbs of calls that reach out to the network or start something. Inside `startDiscovery()`,
 * `this.transport.listen()` or `resolver.resolveSrv()` is the discovery; `decode(packet)` in
 * `handleDiscoveryMessage()` is not, and dropping a malformed packet is no discovery failure.
 */
const REACHING_VERBS = new Set([
  'start',
  'join',
  'bootstrap',
  'listen',
  'bind',
  'connect',
  'init',
  'initialize',
  'open',
  'announce',
  'advertise',
  'lookup',
  'resolve',
  'query',
  'fetch',
  'find',
  'scan',
  'register',
  'subscribe',
  'discover',
  'probe',
  'ping',
]);

function reachesOut(call: ts.CallExpression | ts.NewExpression): boolean {
  const names = chainNames(call.expression);
  const last = names[names.length - 1];
  return last !== undefined && splitWords(last).some((word) => REACHING_VERBS.has(word));
}

/**
 * `await dns.getIPv4()`: a call awaited inside a function named for discovery waits on the network
 * or a peer, whatever its verb (`getMappedAddress`, `natPmp.externalIp`).
 */
function isAwaited(call: ts.CallExpression | ts.NewExpression, enclosingName: string): boolean {
  if (!ts.isAwaitExpression(outermostWrapperOf(call).parent)) return false;
  const names = chainNames(call.expression);
  // Waiting out a timer is no lookup (`await sleep(1000)`).
  if (names.some((name) => splitWords(name).some((word) => TIMER_WORDS.has(word)))) return false;
  // `onPeerDiscovery(peer)` handles one discovered peer, `discoveryEnd()` wraps up: what they
  // await is that peer's or that ending's, not discovery's.
  const words = splitWords(enclosingName.replace(/^.*\./, ''));
  return !(words[0] === 'on' || words[0] === 'handle' || ENDING_WORDS.has(words[words.length - 1] ?? ''));
}

const TIMER_WORDS = new Set(['sleep', 'delay', 'wait', 'timeout', 'pause']);
const ENDING_WORDS = new Set(['end', 'ended', 'done', 'finish', 'finished', 'complete', 'completed']);

/**
 * True when what `fn` throws reaches the handler around the expression that contains it: a promise
 * executor (`new Promise((resolve, reject) => …)`), a `.then()`/`.finally()` callback in the chain,
 * an argument of `promisify()`, or an immediately invoked function. A callback handed to
 * `socket.bind(port, cb)`, `setInterval(cb)` or `.on('x', cb)` runs later, outside the `try`.
 */
function failsIntoCaller(fn: ts.ArrowFunction | ts.FunctionExpression): boolean {
  const site = outermostWrapperOf(fn);
  const parent = site.parent;
  if (ts.isCallExpression(parent) && parent.expression === site) return true; // IIFE
  if (ts.isNewExpression(parent)) {
    return ts.isIdentifier(parent.expression) && parent.expression.text === 'Promise';
  }
  if (!ts.isCallExpression(parent)) return false;
  const names = chainNames(parent.expression);
  const last = names[names.length - 1];
  return last === 'then' || last === 'finally' || last === 'promisify' || last === 'fromCallback';
}

/** `peers.join(', ')` is Array.prototype.join, not a cluster join. */
function isArrayJoin(
  method: string,
  call: ts.CallExpression | ts.NewExpression,
  receiverName?: string,
): boolean {
  if (method !== 'join') return false;
  const args = call.arguments ?? ts.factory.createNodeArray();
  if (args.length === 0) return receiverName !== undefined && namesPeerList(receiverName);
  const [first] = args;
  return args.length === 1 && first !== undefined && ts.isStringLiteralLike(first);
}

/**
 * The first discovery work under `root`. When the handler sits in a function named for discovery
 * (`enclosingName`), any call that is not plainly unrelated counts: `startDiscovery()` calling
 * `this.transport.listen()` is discovery work even though `listen` alone says nothing.
 */
export function findDiscoveryWork(
  root: ts.Node,
  context: DiscoveryContext,
  enclosingName?: string,
  depth = 0,
  seen: Set<ts.Node> = new Set(),
): DiscoveryWork | undefined {
  let found: DiscoveryWork | undefined;
  let fallback: DiscoveryWork | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (
      node !== root &&
      (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) &&
      !failsIntoCaller(node)
    ) {
      return; // a listener or timer callback: what it throws never reaches this handler
    }
    // In a function followed from the handler, work its own `try` catches without handing the
    // failure on never reaches the handler (that `catch` is judged where it is).
    if (depth > 0 && ts.isTryStatement(node) && catchSwallows(node, context)) {
      if (node.catchClause) visit(node.catchClause.block);
      if (node.finallyBlock) visit(node.finallyBlock);
      return;
    }
    // A log line's arguments format its message (`${peers.join(', ')}`): nothing there discovers.
    if (ts.isCallExpression(node) && logLevelOf(node) !== undefined) return;
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const description = classifyCall(node, context, depth, seen);
      if (description !== undefined) {
        found = { node, description };
        return;
      }
      if (
        enclosingName !== undefined &&
        fallback === undefined &&
        !isUnrelatedCall(node) &&
        (reachesOut(node) || isAwaited(node, enclosingName))
      ) {
        const callee = skipWrappers(node.expression);
        const isListener = ts.isPropertyAccessExpression(callee) && LISTENER_METHODS.has(callee.name.text);
        if (!isListener) {
          fallback = {
            node,
            description: `\`${describeCallee(node, context.sourceFile)}\` in \`${enclosingName}()\``,
          };
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(root);
  return found ?? fallback;
}
