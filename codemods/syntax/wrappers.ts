/**
 * Value-preserving wrappers: parentheses, `as`, `satisfies`, `<T>x` and `x!` change nothing at run
 * time, so both the lint (reading raw compiler nodes) and the migrate codemod (reading ts-morph
 * nodes) look through them. The list of kinds is written once here; the four walks below differ
 * only in the node API they read.
 */
import type { Node } from 'ts-morph';
import { ts } from './typescript.js';

/** The syntax kinds whose value is their inner expression's value. */
export const VALUE_PRESERVING_WRAPPER_KINDS: ReadonlySet<ts.SyntaxKind> = new Set([
  ts.SyntaxKind.ParenthesizedExpression,
  ts.SyntaxKind.AsExpression,
  ts.SyntaxKind.SatisfiesExpression,
  ts.SyntaxKind.TypeAssertionExpression,
  ts.SyntaxKind.NonNullExpression,
]);

type Wrapper =
  | ts.ParenthesizedExpression
  | ts.AsExpression
  | ts.SatisfiesExpression
  | ts.TypeAssertion
  | ts.NonNullExpression;

/** True for `( … )`, `… as T`, `… satisfies T`, `<T>…` and `…!` (a raw compiler node). */
export function isValuePreservingWrapper(node: ts.Node): node is Wrapper {
  return VALUE_PRESERVING_WRAPPER_KINDS.has(node.kind);
}

/** Strips value-preserving wrappers from a compiler node: `(x as T)!` → `x`. */
export function skipWrappers(node: ts.Expression): ts.Expression {
  let current = node;
  while (isValuePreservingWrapper(current)) current = current.expression;
  return current;
}

/** The outermost value-preserving wrapper around a compiler node, or the node itself. */
export function outermostWrapperOf(node: ts.Node): ts.Node {
  let current = node;
  while (current.parent !== undefined && isValuePreservingWrapper(current.parent)) current = current.parent;
  return current;
}

/** {@link skipWrappers} for ts-morph nodes. */
export function unwrapExpression(node: Node): Node {
  let current = node;
  while (VALUE_PRESERVING_WRAPPER_KINDS.has(current.getKind())) {
    current = (current as Node & { getExpression(): Node }).getExpression();
  }
  return current;
}

/** {@link outermostWrapperOf} for ts-morph nodes. */
export function outermostWrapper(node: Node): Node {
  let current = node;
  for (let parent = current.getParent(); parent !== undefined; parent = current.getParent()) {
    if (!VALUE_PRESERVING_WRAPPER_KINDS.has(parent.getKind())) return current;
    current = parent;
  }
  return current;
}
