/**
 * Where the outcome of a `try` is decided by the code around it rather than by its `catch`: a loop
 * that tries again until it succeeds, a loop that fails once none of its attempts succeeded, and a
 * statement right after that uses what the `try` failed to make.
 */
import { ts } from '../../../syntax/index.js';
import type { DiscoveryContext } from './context.js';
import { analyzeHandler, mentions } from './handler.js';
import { skipWrappers } from './modules.js';

/**
 * `while (true) { try { await register(); break } catch (e) { log(e); await sleep(ms) } }`: the
 * `try` leaves the loop when it succeeds and the `catch` falls through to the next attempt, so the
 * failure is tried again in place until it succeeds, as a periodic step is on its next tick.
 */
export function retriedInPlace(tryStatement: ts.TryStatement): boolean {
  const loop = enclosingLoop(tryStatement);
  if (loop === undefined) return false;
  const catchBlock = tryStatement.catchClause?.block;
  if (!catchBlock || leavesLoop(catchBlock, loop)) return false;
  return leavesLoop(tryStatement.tryBlock, loop) && !ts.isForOfStatement(loop) && !ts.isForInStatement(loop);
}

/**
 * `for (const host of hosts) { try { yield await map(host); mapped = true } catch (e) { log(e) } }
 * if (!mapped) throw new Error('no gateway mapped')`: each attempt's failure is logged, and the loop
 * fails as a whole when none succeeded. The caller hears of it when it matters.
 */
export function failsWhenNoneSucceeded(tryStatement: ts.TryStatement, context: DiscoveryContext): boolean {
  const loop = enclosingLoop(tryStatement);
  if (loop === undefined) return false;
  const marks = successMarks(tryStatement.tryBlock);
  if (marks.size === 0) return false;
  const block = loop.parent;
  if (!ts.isBlock(block) && !ts.isSourceFile(block)) return false;
  const after = block.statements.slice(block.statements.indexOf(loop as ts.Statement) + 1);
  return after.some(
    (statement) =>
      ts.isIfStatement(statement) &&
      [...marks].some((mark) => mentions(statement.expression, mark)) &&
      // A throw, a rejection, an error handed to a callback or an 'error' event: read as a handler is.
      analyzeHandler(statement.thenStatement, undefined, context).propagates,
  );
}

/**
 * `let client; try { client = new Client() } catch (e) { log(e) } client.on('response', …)`: the
 * statement right after the `try` uses what it failed to make, so the failure comes back at once as
 * a TypeError from there; the log is not where it ends.
 */
export function usedRightAfter(tryStatement: ts.TryStatement): boolean {
  const made = madeVariable(tryStatement.tryBlock);
  if (made === undefined) return false;
  const block = tryStatement.parent;
  if (!ts.isBlock(block) && !ts.isSourceFile(block)) return false;
  const next = block.statements[block.statements.indexOf(tryStatement) + 1];
  if (!next || !ts.isExpressionStatement(next)) return false;
  let call = skipWrappers(next.expression);
  while (ts.isCallExpression(call) && ts.isPropertyAccessExpression(call.expression)) {
    const receiver = skipWrappers(call.expression.expression);
    if (ts.isIdentifier(receiver)) return receiver.text === made;
    call = receiver;
  }
  return false;
}

function enclosingLoop(node: ts.Node): ts.IterationStatement | undefined {
  for (let current: ts.Node = node.parent; current; current = current.parent) {
    if (ts.isFunctionLike(current) || ts.isSourceFile(current)) return undefined;
    if (ts.isIterationStatement(current, false)) return current;
  }
  return undefined;
}

/** A `break` (of this loop) or a `return` in `block`, not inside a nested loop or function. */
function leavesLoop(block: ts.Node, loop: ts.IterationStatement): boolean {
  let found = false;
  const visit = (node: ts.Node, nestedLoop: boolean): void => {
    if (found || ts.isFunctionLike(node)) return;
    if (ts.isReturnStatement(node)) found = true;
    else if (ts.isBreakStatement(node) && !node.label && !nestedLoop) found = true;
    else {
      const nested =
        nestedLoop || (node !== loop && ts.isIterationStatement(node, false)) || ts.isSwitchStatement(node);
      ts.forEachChild(node, (child) => visit(child, nested));
    }
  };
  visit(block, false);
  return found;
}

/** `ok = true`, `count++`, `count += 1`, `found.push(…)`: names the `try` marks when an attempt succeeds. */
function successMarks(block: ts.Node): Set<string> {
  const marks = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node)) return;
    if (
      ts.isBinaryExpression(node) &&
      ts.isIdentifier(node.left) &&
      ((node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        node.right.kind === ts.SyntaxKind.TrueKeyword) ||
        node.operatorToken.kind === ts.SyntaxKind.PlusEqualsToken)
    ) {
      marks.add(node.left.text);
    } else if (
      (ts.isPostfixUnaryExpression(node) || ts.isPrefixUnaryExpression(node)) &&
      node.operator === ts.SyntaxKind.PlusPlusToken &&
      ts.isIdentifier(node.operand)
    ) {
      marks.add(node.operand.text);
    } else if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'push' &&
      ts.isIdentifier(node.expression.expression)
    ) {
      marks.add(node.expression.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(block);
  return marks;
}

/** The variable a one-statement `try` assigns a new object to (`client = new Client()`). */
function madeVariable(block: ts.Block): string | undefined {
  if (block.statements.length !== 1) return undefined;
  const [statement] = block.statements;
  if (!statement || !ts.isExpressionStatement(statement)) return undefined;
  const expression = skipWrappers(statement.expression);
  if (
    !ts.isBinaryExpression(expression) ||
    expression.operatorToken.kind !== ts.SyntaxKind.EqualsToken ||
    !ts.isIdentifier(expression.left)
  )
    return undefined;
  let made = skipWrappers(expression.right);
  if (ts.isAwaitExpression(made)) made = skipWrappers(made.expression);
  return ts.isNewExpression(made) || ts.isCallExpression(made) ? expression.left.text : undefined;
}
