/**
 * Reading an error-first callback: which of its branches run on failure, and whether a parameter
 * is named like the error. Shared by the start-callback check and the dropped-continuation check.
 */
import { ts } from '../../../syntax/index.js';
import { skipWrappers } from './modules.js';

/** True when a parameter name reads as the error of an error-first callback (`err`, `_error`, `bindErr`). */
export function looksLikeErrorName(name: string): boolean {
  return /^_?(e|er|err|error|ex|exception)$/i.test(name) || /(Err|Error)$/.test(name);
}

/**
 * The parts of an error-first callback that run on failure: the `then` of each `if (err)`, the
 * `else` of `if (!err)`; empty when the body tests the error no way it can read (judge it whole);
 * `'ignored'` when only the success path is written (`if (!err) { … }`).
 */
export function errorBranches(body: ts.Node, errorName: string): ts.Node[] | 'ignored' {
  if (!ts.isBlock(body)) return [];
  const branches: ts.Node[] = [];
  for (const statement of body.statements) {
    if (!ts.isIfStatement(statement)) continue;
    const test = testsError(statement.expression, errorName);
    if (test === 'present') {
      branches.push(statement.thenStatement);
    } else if (test === 'absent') {
      if (statement.elseStatement) branches.push(statement.elseStatement);
      // `if (!err && hosts.length > 0) return done(hosts);` — what follows runs on failure too.
      else if (alwaysExits(statement.thenStatement)) return [];
      else if (branches.length === 0) return 'ignored';
    }
  }
  return branches;
}

/** True when `statement` ends by leaving the function (`return`, `throw`). */
export function alwaysExits(statement: ts.Statement): boolean {
  const last = ts.isBlock(statement) ? statement.statements[statement.statements.length - 1] : statement;
  return last !== undefined && (ts.isReturnStatement(last) || ts.isThrowStatement(last));
}

/**
 * What an `if` condition says about the error: `'present'` for `err`, `err != null`, `err instanceof X`
 * (and through `&&` / `||`), `'absent'` for their negation, undefined when it does not test it.
 */
export function testsError(condition: ts.Expression, errorName: string): 'present' | 'absent' | undefined {
  const expression = skipWrappers(condition);
  const isError = (node: ts.Expression): boolean => {
    const inner = skipWrappers(node);
    return ts.isIdentifier(inner) && inner.text === errorName;
  };
  if (isError(expression)) return 'present';
  if (ts.isPrefixUnaryExpression(expression) && expression.operator === ts.SyntaxKind.ExclamationToken) {
    const inner = testsError(expression.operand, errorName);
    return inner === 'present' ? 'absent' : inner === 'absent' ? 'present' : undefined;
  }
  if (ts.isBinaryExpression(expression)) {
    const kind = expression.operatorToken.kind;
    if (kind === ts.SyntaxKind.InstanceOfKeyword && isError(expression.left)) return 'present';
    if (kind === ts.SyntaxKind.AmpersandAmpersandToken || kind === ts.SyntaxKind.BarBarToken) {
      return testsError(expression.left, errorName) ?? testsError(expression.right, errorName);
    }
    const nullish = (node: ts.Expression): boolean => {
      const inner = skipWrappers(node);
      return (
        inner.kind === ts.SyntaxKind.NullKeyword || (ts.isIdentifier(inner) && inner.text === 'undefined')
      );
    };
    const comparesError =
      (isError(expression.left) && nullish(expression.right)) ||
      (isError(expression.right) && nullish(expression.left));
    if (!comparesError) return undefined;
    if (
      kind === ts.SyntaxKind.ExclamationEqualsToken ||
      kind === ts.SyntaxKind.ExclamationEqualsEqualsToken
    ) {
      return 'present';
    }
    if (kind === ts.SyntaxKind.EqualsEqualsToken || kind === ts.SyntaxKind.EqualsEqualsEqualsToken)
      return 'absent';
  }
  return undefined;
}
