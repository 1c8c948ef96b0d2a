import { Node, SyntaxKind } from 'ts-morph';
import { resolveConstInitializer, staticPropertyName, unwrapExpression } from './constructor-options.js';

// Deep enough for `const WINDOW = 60 * SECOND` chains, shallow enough to stop a cycle.
const MAX_DEPTH = 8;

/**
 * The value of a number expression that can be known without running the code: literals,
 * arithmetic on them, and `const`s (also `const LIMITS = { api: 100 }` then `LIMITS.api`) in the
 * same file. Returns undefined for anything else (environment, function calls, imports).
 */
export function evaluateNumber(node: Node, depth = 0): number | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const expression = unwrapExpression(node);
  if (Node.isNumericLiteral(expression)) return expression.getLiteralValue();
  if (Node.isPrefixUnaryExpression(expression)) {
    const operand = evaluateNumber(expression.getOperand(), depth + 1);
    if (operand === undefined) return undefined;
    if (expression.getOperatorToken() === SyntaxKind.MinusToken) return -operand;
    if (expression.getOperatorToken() === SyntaxKind.PlusToken) return operand;
    return undefined;
  }
  if (Node.isBinaryExpression(expression)) {
    const left = evaluateNumber(expression.getLeft(), depth + 1);
    const right = evaluateNumber(expression.getRight(), depth + 1);
    if (left === undefined || right === undefined) return undefined;
    switch (expression.getOperatorToken().getKind()) {
      case SyntaxKind.PlusToken:
        return left + right;
      case SyntaxKind.MinusToken:
        return left - right;
      case SyntaxKind.AsteriskToken:
        return left * right;
      case SyntaxKind.SlashToken:
        return left / right;
      case SyntaxKind.AsteriskAsteriskToken:
        return left ** right;
      default:
        return undefined;
    }
  }
  const resolved = resolveReference(expression);
  return resolved === undefined ? undefined : evaluateNumber(resolved, depth + 1);
}

/** Like {@link evaluateNumber}, for strings (`'api'`, a `const`, `` `api` ``). */
export function evaluateString(node: Node, depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const expression = unwrapExpression(node);
  if (Node.isStringLiteral(expression) || Node.isNoSubstitutionTemplateLiteral(expression)) {
    return expression.getLiteralText();
  }
  const resolved = resolveReference(expression);
  return resolved === undefined ? undefined : evaluateString(resolved, depth + 1);
}

function resolveReference(expression: Node): Node | undefined {
  const sourceFile = expression.getSourceFile();
  if (Node.isIdentifier(expression)) return resolveConstInitializer(sourceFile, expression.getText());
  if (Node.isPropertyAccessExpression(expression)) {
    const target = expression.getExpression();
    if (!Node.isIdentifier(target)) return undefined;
    const initializer = resolveConstInitializer(sourceFile, target.getText());
    if (initializer === undefined) return undefined;
    const object = unwrapExpression(initializer);
    if (!Node.isObjectLiteralExpression(object)) return undefined;
    const property = object
      .getProperties()
      .find((candidate) => staticPropertyName(candidate) === expression.getName());
    return property !== undefined && Node.isPropertyAssignment(property)
      ? property.getInitializer()
      : undefined;
  }
  return undefined;
}
