/**
 * Handlers whose failure belongs to one message or one use of a socket, not to discovery: a
 * received message, a send after the socket is bound, a socket opened for one message.
 */
import { ts } from '../../../syntax/index.js';
import { containsCall, functionName, functionsAround, keyOf, listenedTo } from './context.js';
import { skipWrappers } from './modules.js';
import { namesMessageHandler, namesPeerList, splitWords } from './names.js';

/**
 * `socket.bind(port, () => { …; socket.on('error', log) })`: an `'error'` listener added once the
 * socket is bound (in the callback of its `bind`, or of its `'listening'` event). The bind's own
 * failure went to an earlier listener; what reaches this one is a failed send or a packet, after
 * which a UDP socket stays open and keeps receiving: per-packet trouble, not discovery switched off.
 */
export function listensAfterBind(listenerCall: ts.CallExpression, emitter: ts.Expression): boolean {
  const key = keyOf(emitter);
  if (key === undefined) return false;
  for (const fn of functionsAround(listenerCall)) {
    const listened = listenedTo(fn);
    if (listened === undefined || keyOf(listened.receiver) !== key) continue;
    if (listened.method === 'bind') return true;
    if (/^(on|once)$/.test(listened.method) && listened.event === 'listening') return true;
  }
  return false;
}

/**
 * `const socket = dgram.createSocket(…); socket.on('error', (e) => { log(e); socket.close() });
 * socket.send(msg, …, () => socket.close())`: a socket opened for one message and closed once it
 * is sent. Closing it on error ends that one use, as success does; discovery is not switched off.
 */
export function closedAfterOneUse(
  listenerCall: ts.CallExpression,
  emitter: ts.Expression,
  handler: ts.Node,
): boolean {
  const owner = functionsAround(listenerCall).next().value;
  return owner?.body !== undefined && closesSocket(owner.body, emitter, handler);
}

/** `socket.close()` on the same socket (`this.socket`, `self.socket` alike) under `root`, outside `except`. */
export function closesSocket(root: ts.Node, socket: ts.Expression, except?: ts.Node): boolean {
  const key = keyOf(socket);
  if (key === undefined) return false;
  const outside = (node: ts.Node): boolean =>
    except === undefined || node.pos < except.pos || node.end > except.end;
  return containsCall(root, (name, call) => {
    const callee = skipWrappers(call.expression);
    return (
      name === 'close' &&
      outside(call) &&
      ts.isPropertyAccessExpression(callee) &&
      keyOf(callee.expression) === key
    );
  });
}

/** Events that deliver one received message. */
const MESSAGE_EVENTS = new Set(['message', 'packet', 'response', 'datagram']);

/**
 * True when `site` handles one received message: inside a function named for it
 * (`handleMessage`, `onPacket`, `handleReceivedRpc`) or the listener of a `'message'` event. What
 * fails there is that message's (a bad packet, one reply); the next message is read as before.
 */
export function handlesOneMessage(site: ts.Node): boolean {
  for (const fn of functionsAround(site)) {
    const name = functionName(fn);
    if (name !== undefined && namesMessageHandler(name)) return true;
    const listened = listenedTo(fn);
    if (
      listened !== undefined &&
      /^(on|once|addListener)$/.test(listened.method) &&
      listened.event !== undefined &&
      MESSAGE_EVENTS.has(listened.event)
    )
      return true;
  }
  return false;
}

/** Array methods that call their callback once per element. */
const ITERATION_METHODS = new Set(['map', 'flatMap', 'forEach', 'filter', 'some', 'every', 'reduce']);

/**
 * `peers.slice(0, 8).map(async (peer) => { try { … } catch { log; return [] } })`: the handler is
 * in the callback an array method calls once per peer, so what it returns is that one peer's
 * answer (an empty list there does not empty the peer list); the other peers are asked as before.
 */
export function handlesOnePeer(site: ts.Node): boolean {
  for (const fn of functionsAround(site)) {
    const call = fn.parent;
    if (!ts.isCallExpression(call) || !call.arguments.includes(fn as unknown as ts.Expression)) continue;
    const callee = skipWrappers(call.expression);
    if (!ts.isPropertyAccessExpression(callee) || !ITERATION_METHODS.has(callee.name.text)) continue;
    if (namesPeersWithin(callee.expression)) return true;
  }
  return false;
}

function namesPeersWithin(receiver: ts.Node): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if ((ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) && namesPeerList(node.text)) found = true;
    else if (!ts.isFunctionLike(node)) ts.forEachChild(node, visit);
  };
  visit(receiver);
  return found;
}

/**
 * `for (const peer of found) { try { await this.findPeer(peer.id) } catch (e) { log(e) } }`,
 * `routers.map((router) => router.findPeer(id))`: the discovery call is made on, or about, the
 * element a loop or a per-element callback is at, so its failure is that one member's (a provider
 * skipped, one router silent); the others are asked as before and the lookup goes on.
 */
export function workOnOneMember(work: ts.Node): boolean {
  if (!ts.isCallExpression(work)) return false;
  const callee = skipWrappers(work.expression);
  const method = ts.isPropertyAccessExpression(callee)
    ? callee.name.text
    : ts.isIdentifier(callee)
      ? callee.text
      : '';
  // A lookup or a request to one member; joining a group or starting a search on one interface is
  // this node's own discovery on that interface, which stays off.
  if (!MEMBER_REQUEST_VERBS.has(splitWords(method)[0] ?? '')) return false;
  const about = [callee, ...work.arguments];
  for (let node: ts.Node | undefined = work.parent; node && !ts.isSourceFile(node); node = node.parent) {
    const members = memberNames(node).filter((name) => !NETWORK_INTERFACE.test(name));
    if (members.length > 0 && about.some((part) => members.some((name) => rootedAt(part, name)))) return true;
    // A loop outside the method the call is in iterates over something else than its argument.
    if (ts.isMethodDeclaration(node) || ts.isFunctionDeclaration(node) || ts.isConstructorDeclaration(node))
      return false;
  }
  return false;
}

const MEMBER_REQUEST_VERBS = new Set([
  'find',
  'get',
  'lookup',
  'resolve',
  'query',
  'fetch',
  'load',
  'request',
  'read',
  'ping',
  'dial',
  'connect',
  'probe',
]);

/** `iface`, `networkInterface`, `address`, `nic`: a loop over this host's interfaces, not over members. */
const NETWORK_INTERFACE = /iface|interface|^nic|address|^eth|adapter/i;

/** The names a loop binds per element, or an iteration callback's first parameter. */
function memberNames(node: ts.Node): string[] {
  if (
    (ts.isForOfStatement(node) || ts.isForInStatement(node)) &&
    ts.isVariableDeclarationList(node.initializer)
  ) {
    return node.initializer.declarations.flatMap((declaration) => boundNames(declaration.name));
  }
  if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && ts.isCallExpression(node.parent)) {
    const callee = skipWrappers(node.parent.expression);
    const [element] = node.parameters;
    if (
      element !== undefined &&
      ts.isPropertyAccessExpression(callee) &&
      ITERATION_METHODS.has(callee.name.text) &&
      node.parent.arguments[0] === node
    )
      return boundNames(element.name);
  }
  return [];
}

function boundNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((element) => (ts.isBindingElement(element) ? boundNames(element.name) : []));
}

/** `peer`, `peer.id`, `router.findPeer`, `peers[peer]`: an expression that starts at `name`. */
function rootedAt(expression: ts.Node, name: string): boolean {
  let node = skipWrappers(expression as ts.Expression);
  for (;;) {
    if (ts.isIdentifier(node)) return node.text === name;
    if (
      ts.isPropertyAccessExpression(node) ||
      ts.isElementAccessExpression(node) ||
      ts.isCallExpression(node)
    )
      node = skipWrappers(node.expression);
    else return false;
  }
}
