/**
 * Handlers whose failure belongs to one message or one use of a socket, not to discovery: a
 * received message, a send after the socket is bound, a socket opened for one message.
 */
import { outermostWrapperOf, ts } from '../../../syntax/index.js';
import { functionName, keyOf } from './context.js';
import { skipWrappers } from './modules.js';
import { namesMessageHandler } from './names.js';

/**
 * `socket.bind(port, () => { …; socket.on('error', log) })`: an `'error'` listener added once the
 * socket is bound (in the callback of its `bind`, or of its `'listening'` event). The bind's own
 * failure went to an earlier listener; what reaches this one is a failed send or a packet, after
 * which a UDP socket stays open and keeps receiving: per-packet trouble, not discovery switched off.
 */
export function listensAfterBind(listenerCall: ts.CallExpression, emitter: ts.Expression): boolean {
  const key = keyOf(emitter);
  if (key === undefined) return false;
  for (let node: ts.Node | undefined = listenerCall.parent; node; node = node.parent) {
    if (!ts.isArrowFunction(node) && !ts.isFunctionExpression(node)) continue;
    const call = outermostWrapperOf(node).parent;
    if (!call || !ts.isCallExpression(call)) continue;
    const callee = skipWrappers(call.expression);
    if (!ts.isPropertyAccessExpression(callee) || keyOf(callee.expression) !== key) continue;
    const method = callee.name.text;
    if (method === 'bind') return true;
    const [event] = call.arguments;
    if (
      /^(on|once)$/.test(method) &&
      event !== undefined &&
      ts.isStringLiteralLike(event) &&
      event.text === 'listening'
    )
      return true;
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
  const key = keyOf(emitter);
  if (key === undefined) return false;
  let owner: ts.Node | undefined = listenerCall.parent;
  while (owner && !ts.isFunctionLike(owner)) owner = owner.parent;
  if (!owner || !('body' in owner) || !owner.body) return false;
  let closedElsewhere = false;
  const visit = (node: ts.Node): void => {
    if (closedElsewhere || node === handler) return;
    if (ts.isCallExpression(node)) {
      const callee = skipWrappers(node.expression);
      if (
        ts.isPropertyAccessExpression(callee) &&
        callee.name.text === 'close' &&
        keyOf(callee.expression) === key
      ) {
        closedElsewhere = true;
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(owner.body);
  return closedElsewhere;
}

/** Events that deliver one received message. */
const MESSAGE_EVENTS = new Set(['message', 'packet', 'response', 'datagram']);

/**
 * True when `site` handles one received message: inside a function named for it
 * (`handleMessage`, `onPacket`, `handleReceivedRpc`) or the listener of a `'message'` event. What
 * fails there is that message's (a bad packet, one reply); the next message is read as before.
 */
export function handlesOneMessage(site: ts.Node): boolean {
  for (let node: ts.Node | undefined = site.parent; node; node = node.parent) {
    if (!ts.isFunctionLike(node)) continue;
    const name = functionName(node as ts.FunctionLikeDeclaration);
    if (name !== undefined && namesMessageHandler(name)) return true;
    const call = outermostWrapperOf(node).parent;
    if (call && ts.isCallExpression(call) && call.arguments.length >= 2) {
      const callee = skipWrappers(call.expression);
      const [event] = call.arguments;
      if (
        ts.isPropertyAccessExpression(callee) &&
        /^(on|once|addListener)$/.test(callee.name.text) &&
        event !== undefined &&
        ts.isStringLiteralLike(event) &&
        MESSAGE_EVENTS.has(event.text)
      )
        return true;
    }
  }
  return false;
}
