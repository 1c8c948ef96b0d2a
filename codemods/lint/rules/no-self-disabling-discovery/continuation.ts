/**
 * An error-first callback that returns on its error without reading it and without calling the
 * continuation its success path calls: `lookup(key, (err, value) => { if (err) return; …; next(list) })`.
 * The error is dropped, and the caller waiting on `next` waits for ever, with nothing logged. Tied
 * to discovery through the function that hands the continuation in: it is named for discovery, or
 * it is given a list of peers (seeds, members, bases) to add to.
 */
import { ts } from '../../../syntax/index.js';
import { functionName, type DiscoveryContext } from './context.js';
import { looksLikeErrorName, testsError } from './error-branches.js';
import { analyzeHandler, mentions } from './handler.js';
import { skipWrappers } from './modules.js';
import { namesDiscovery, namesPeerList } from './names.js';

/** What the check found: the error dropped and the continuation the failure never calls. */
export interface DroppedContinuation {
  readonly errorName: string;
  /** The name of the continuation (`next`, `done`, `resolve`). */
  readonly continuation: string;
}

type InlineFunction = ts.ArrowFunction | ts.FunctionExpression;

/**
 * Reads `callback` (an inline function passed to any call) and returns what it drops, or undefined
 * when its failure branch reads the error, calls the continuation, does other work, or the
 * continuation does not come from a function that supplies peers.
 */
export function dropsTheContinuation(
  callback: InlineFunction,
  context: DiscoveryContext,
): DroppedContinuation | undefined {
  const [first] = callback.parameters;
  if (!first || !ts.isIdentifier(first.name) || !looksLikeErrorName(first.name.text)) return undefined;
  const errorName = first.name.text;
  if (!ts.isBlock(callback.body)) return undefined;
  const failure = callback.body.statements.find(
    (statement): statement is ts.IfStatement =>
      ts.isIfStatement(statement) && testsError(statement.expression, errorName) === 'present',
  );
  if (!failure || failure.elseStatement || !endsWithReturn(failure.thenStatement)) return undefined;
  if (mentions(failure.thenStatement, errorName)) return undefined;
  // A log line alone still drops the continuation; a retry, a fallback or any call the rule
  // cannot judge may be the failure's way on, so it is left alone.
  const verdict = analyzeHandler(failure.thenStatement, errorName, context, callback);
  if (verdict.propagates || verdict.doesOtherWork || verdict.retry !== 'none' || verdict.fallbacks.length > 0)
    return undefined;

  const owners = continuationOwners(callback);
  const successCalls = calledNames(callback.body, failure).filter((name) => owners.has(name));
  const continuation = successCalls.find((name) => !calledNames(failure.thenStatement).includes(name));
  if (continuation === undefined) return undefined;
  if (!suppliesPeers(callback, owners.get(continuation)!, continuation)) return undefined;
  return { errorName, continuation };
}

/** `return;` or `{ …; return; }`: the branch leaves the callback (a `throw` would surface the error). */
function endsWithReturn(statement: ts.Statement): boolean {
  const last = ts.isBlock(statement) ? statement.statements[statement.statements.length - 1] : statement;
  return last !== undefined && ts.isReturnStatement(last);
}

/**
 * Parameters of the functions around `callback`, each mapped to the nearest function declaring
 * it; the callback's own parameters shadow them and are left out.
 */
function continuationOwners(callback: InlineFunction): Map<string, ts.SignatureDeclaration> {
  const own = new Set(callback.parameters.map((parameter) => parameter.name.getText()));
  const owners = new Map<string, ts.SignatureDeclaration>();
  for (let node: ts.Node | undefined = callback.parent; node; node = node.parent) {
    if (!ts.isFunctionLike(node)) continue;
    for (const parameter of node.parameters) {
      if (!ts.isIdentifier(parameter.name)) continue;
      const name = parameter.name.text;
      if (!own.has(name) && !owners.has(name)) owners.set(name, node);
    }
  }
  return owners;
}

/** Names of plain functions called in `root` (`next(…)`, not `a.next()`), outside `skip` and nested functions. */
function calledNames(root: ts.Node, skip?: ts.Node): string[] {
  const names: string[] = [];
  const visit = (node: ts.Node): void => {
    if (node === skip || ts.isFunctionLike(node)) return;
    if (ts.isCallExpression(node)) {
      const callee = skipWrappers(node.expression);
      if (ts.isIdentifier(callee)) names.push(callee.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(root);
  return names;
}

/**
 * The continuation belongs to discovery when a function between the callback and its owner is
 * named for discovery (`findSeeds`), or its owner is handed the peer list it fills (`seeds`,
 * `members`, `bases`) beside it.
 */
function suppliesPeers(
  callback: InlineFunction,
  owner: ts.SignatureDeclaration,
  continuation: string,
): boolean {
  for (let node: ts.Node | undefined = callback.parent; node; node = node.parent) {
    if (ts.isFunctionLike(node) && 'body' in node) {
      const name = functionName(node as ts.FunctionLikeDeclaration);
      if (name !== undefined && namesDiscovery(name)) return true;
    }
    if (node === owner) break;
  }
  return owner.parameters.some(
    (parameter) =>
      ts.isIdentifier(parameter.name) &&
      parameter.name.text !== continuation &&
      namesPeerList(parameter.name.text),
  );
}
