/**
 * What around a handler decides whether its failure matters: discovery work anywhere in a batch of
 * promises, a stop earlier in the same function, a refresh that keeps its last list, a deferred the
 * file awaits with a timeout, a lookup that fills the peer list. Each reads only the one parsed file.
 */
import { ts } from '../../../syntax/index.js';
import { containsCall, keyOf, nearestNamedFunction, type DiscoveryContext } from './context.js';
import type { HandlerVerdict } from './handler.js';
import { skipWrappers } from './modules.js';
import { namesPeerCollection, splitWords } from './names.js';
import { classifyCall, describeCallee, type DiscoveryWork } from './work.js';

/** Discovery work anywhere under `root`, callbacks included (each one settles a promise of the batch). */
export function anyDiscoveryWork(root: ts.Node, context: DiscoveryContext): DiscoveryWork | undefined {
  let found: DiscoveryWork | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const description = classifyCall(node, context);
      if (description !== undefined) {
        found = { node, description };
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(root);
  return found;
}

/**
 * `ssdp.stop(); request(location).catch(log)`: the function switched discovery off (a stop,
 * close or destroy on a discovery object, earlier in the same body) before the work the handler
 * guards. If that work fails and the handler only logs, discovery stays off.
 */
export function afterDiscoveryStopped(
  site: ts.Node,
  guarded: ts.Node,
  context: DiscoveryContext,
): DiscoveryWork | undefined {
  let statement: ts.Node = site;
  while (statement.parent && !ts.isBlock(statement.parent) && !ts.isSourceFile(statement.parent)) {
    if (ts.isFunctionLike(statement.parent)) return undefined;
    statement = statement.parent;
  }
  const block = statement.parent;
  if (!block || !ts.isBlock(block) || !ts.isFunctionLike(block.parent)) return undefined;
  const index = block.statements.indexOf(statement as ts.Statement);
  for (const earlier of block.statements.slice(0, Math.max(0, index))) {
    if (!ts.isExpressionStatement(earlier)) continue;
    const call = skipWrappers(earlier.expression);
    if (!ts.isCallExpression(call)) continue;
    const callee = skipWrappers(call.expression);
    if (!ts.isPropertyAccessExpression(callee)) continue;
    if (!/^(stop|close|destroy)$/.test(callee.name.text)) continue;
    if (!context.isDiscoveryObject(callee.expression)) continue;
    // Stopped for good (an exit path) is not the same as paused: only an object the file also
    // starts again (`ssdp.start()` elsewhere) is one whose stop the handler had to undo.
    if (!startedAgainSomewhere(keyOf(callee.expression), context.sourceFile)) continue;
    const line = context.sourceFile.getLineAndCharacterOfPosition(call.getStart(context.sourceFile)).line + 1;
    const guardedCall = firstCall(guarded);
    const what = guardedCall ? `\`${describeCallee(guardedCall, context.sourceFile)}\`` : 'the work';
    return {
      node: call,
      description: `${what} (run after \`${describeCallee(call, context.sourceFile)}\` switched discovery off, line ${line}; nothing here starts it again)`,
    };
  }
  return undefined;
}

/** True when the file calls `start`, `restart` or `resume` on the object `key` names. */
function startedAgainSomewhere(key: string | undefined, sourceFile: ts.SourceFile): boolean {
  if (key === undefined) return false;
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node)) {
      const callee = skipWrappers(node.expression);
      if (
        ts.isPropertyAccessExpression(callee) &&
        /^(start|restart|resume)$/.test(callee.name.text) &&
        keyOf(callee.expression) === key
      ) {
        found = true;
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

function firstCall(root: ts.Node): ts.CallExpression | ts.NewExpression | undefined {
  let current: ts.Node = skipWrappers(root as ts.Expression);
  // `request(x).then(…)`: the call at the head of the chain says what the work is.
  while (ts.isCallExpression(current)) {
    const callee = skipWrappers(current.expression);
    if (ts.isPropertyAccessExpression(callee) && /^(then|catch|finally)$/.test(callee.name.text)) {
      current = skipWrappers(callee.expression);
    } else return current;
  }
  let found: ts.CallExpression | ts.NewExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) found = node;
    else ts.forEachChild(node, visit);
  };
  visit(root);
  return found;
}

/** First words of functions that re-run discovery that is already up: `refresh`, `pollMembers`. */
const REFRESH_WORDS = new Set(['refresh', 'poll', 'reload', 'resync']);

/**
 * A refresh that only logs its failure keeps the list it had: `refresh() { return
 * discoverNodes().then(set).catch(log) }`. Discovery is not switched off by it (a handler that
 * empties the list or falls back to leader is still reported).
 */
export function keepsTheLastList(site: ts.Node, verdict: HandlerVerdict): boolean {
  if (verdict.fallbacks.length > 0) return false;
  const named = nearestNamedFunction(site);
  return named !== undefined && REFRESH_WORDS.has(splitWords(named.name)[0] ?? '');
}

/**
 * `apply().then(this.ready.resolve).catch(log)` where the file waits on `this.ready.promise` with
 * a timeout (`timedPromise(this.ready.promise, ms)`): the failure leaves the deferred unresolved,
 * and the waiting side fails when its timeout runs out. The failure surfaces there.
 */
export function resolvesADeferredAwaitedWithATimeout(
  chain: ts.Expression,
  context: DiscoveryContext,
): boolean {
  const deferreds = new Set<string>();
  let current = skipWrappers(chain);
  while (ts.isCallExpression(current)) {
    const callee = skipWrappers(current.expression);
    if (!ts.isPropertyAccessExpression(callee)) break;
    if (callee.name.text === 'then') {
      const [onFulfilled] = current.arguments;
      const resolved = onFulfilled && skipWrappers(onFulfilled);
      if (resolved && ts.isPropertyAccessExpression(resolved) && resolved.name.text === 'resolve') {
        const key = keyOf(resolved.expression);
        if (key !== undefined) deferreds.add(`${key}.promise`);
      }
    }
    current = skipWrappers(callee.expression);
  }
  if (deferreds.size === 0) return false;
  return containsCall(
    context.sourceFile,
    (name, call) =>
      splitWords(name).some((word) => word === 'timeout' || word === 'timed') &&
      call.arguments.some((argument) => deferreds.has(keyOf(argument) ?? '')),
  );
}

/** Verbs of a name lookup: what a peer list calls to turn seed or node names into addresses. */
const LOOKUP_WORDS = new Set(['resolve', 'lookup', 'query', 'discover', 'find']);

/**
 * `try { hosts = await this.resolve(seed.host) } catch …` in a method of the class that keeps the
 * peers (`HostList`, `PeerTable`): looking up the addresses of a seed or a configured node is how
 * the list is filled. Connecting to one peer is not a lookup and stays out (per-peer work).
 */
export function lookupIntoPeerCollection(
  site: ts.Node,
  guarded: ts.Node,
  context: DiscoveryContext,
): DiscoveryWork | undefined {
  const method = nearestNamedFunction(site);
  if (method === undefined || !ts.isMethodDeclaration(method.declaration)) return undefined;
  const owner = method.declaration.parent;
  if (!(ts.isClassDeclaration(owner) || ts.isClassExpression(owner)) || !owner.name) return undefined;
  if (!namesPeerCollection(owner.name.text)) return undefined;
  let found: ts.CallExpression | undefined;
  containsCall(guarded, (name, call) => {
    // `resolve4`, `resolveSrv`, `lookup`: the verb, with a record type after it or not.
    if (!splitWords(name).some((word) => LOOKUP_WORDS.has(word.replace(/\d+$/, '')))) return false;
    found = call;
    return true;
  });
  if (found === undefined) return undefined;
  return {
    node: found,
    description: `\`${describeCallee(found, context.sourceFile)}\` in \`${owner.name.text}.${method.name}()\``,
  };
}
