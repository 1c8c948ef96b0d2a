/**
 * Whether a function of this file can hand a failure to its caller at all. A `catch` on a call to
 * one that catches everything itself (`tryToBecomeLeader() { try { … } catch (e) { log(e) } }`)
 * catches no discovery failure: the swallowing, if any, is judged at that inner `catch`.
 */
import { ts } from '../../../syntax/index.js';
import { chainNames, type DiscoveryContext } from './context.js';
import { analyzeHandler, logLevelOf } from './handler.js';
import { skipWrappers } from './modules.js';

/** Calls that hand nothing back to the caller: timers run their callback later, clearing cannot fail. */
const SAFE_CALLS = new Set([
  'setTimeout',
  'setInterval',
  'setImmediate',
  'nextTick',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
]);

/** How deep the check follows calls into other functions of the file. */
const MAX_DEPTH = 2;

const verdicts = new WeakMap<ts.FunctionLikeDeclaration, boolean>();

/**
 * True when every call `fn` makes that could fail into its caller sits in a `try` whose `catch`
 * does not propagate, is a log line or a timer, or calls a function of this file that cannot fail
 * either. Anything else (a `throw`, an unknown call outside a `try`) means it can fail.
 */
export function cannotFail(fn: ts.FunctionLikeDeclaration, context: DiscoveryContext): boolean {
  return !canFail(fn, context, 0, new Set());
}

function canFail(
  fn: ts.FunctionLikeDeclaration,
  context: DiscoveryContext,
  depth: number,
  following: Set<ts.Node>,
): boolean {
  const known = verdicts.get(fn);
  if (known !== undefined) return !known;
  if (!fn.body || depth > MAX_DEPTH || following.has(fn)) return true;
  following.add(fn);
  let fails = false;
  const visit = (node: ts.Node): void => {
    if (fails) return;
    // A nested function runs later (a listener, a timer's callback): what it throws is not ours.
    if (node !== fn.body && ts.isFunctionLike(node)) return;
    if (ts.isThrowStatement(node)) {
      fails = true;
      return;
    }
    if (ts.isTryStatement(node) && catchSwallows(node, context)) {
      if (node.finallyBlock) visit(node.finallyBlock);
      return;
    }
    if (ts.isCallExpression(node)) {
      if (logLevelOf(node) !== undefined) return;
      const names = chainNames(node.expression);
      const last = names[names.length - 1] ?? '';
      if (SAFE_CALLS.has(last)) {
        node.arguments.slice(1).forEach(visit);
        return;
      }
      const local = context.localCallee(node);
      if (local === undefined || canFail(local, context, depth + 1, following)) {
        fails = true;
        return;
      }
      // The callee cannot fail; its arguments are still evaluated here.
      node.arguments.forEach(visit);
      visit(skipWrappers(node.expression));
      return;
    }
    if (ts.isNewExpression(node)) {
      fails = true;
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(fn.body);
  following.delete(fn);
  // Only a verdict reached without a cycle cut short is kept for other callers.
  if (following.size === 0) verdicts.set(fn, !fails);
  return fails;
}

/** A `try` whose `catch` does not propagate: a failure of its block stays there. */
export function catchSwallows(tryStatement: ts.TryStatement, context: DiscoveryContext): boolean {
  const clause = tryStatement.catchClause;
  if (!clause) return false;
  const errorName =
    clause.variableDeclaration && ts.isIdentifier(clause.variableDeclaration.name)
      ? clause.variableDeclaration.name.text
      : undefined;
  return !analyzeHandler(clause.block, errorName, context).propagates;
}
