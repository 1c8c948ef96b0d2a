import { Node, SyntaxKind, type ObjectLiteralExpression, type SourceFile } from 'ts-morph';
import { ownValue, type ModuleMapping, type ReviewItem, type TextChange } from './types.js';

/**
 * The object literal an options argument stands for: the literal itself, or the initializer of the
 * one `const` of that name in the file (`const options = { … }; new Discover(options)`).
 * Returns undefined when the options are built any other way.
 */
export function resolveObjectLiteral(argument: Node | undefined): ObjectLiteralExpression | undefined {
  if (argument === undefined) return undefined;
  const expression = unwrapExpression(argument);
  if (Node.isObjectLiteralExpression(expression)) return expression;
  if (!Node.isIdentifier(expression)) return undefined;
  const initializer = resolveConstInitializer(expression.getSourceFile(), expression.getText());
  if (initializer === undefined) return undefined;
  const value = unwrapExpression(initializer);
  return Node.isObjectLiteralExpression(value) ? value : undefined;
}

/**
 * The initializer of the only `const <name> = …` in the file. Two declarations of the same name (in
 * different scopes) make it ambiguous, and ambiguity returns undefined rather than a guess.
 */
export function resolveConstInitializer(sourceFile: SourceFile, name: string): Node | undefined {
  const matches = sourceFile
    .getDescendantsOfKind(SyntaxKind.VariableDeclaration)
    .filter((declaration) => Node.isIdentifier(declaration.getNameNode()) && declaration.getName() === name);
  if (matches.length !== 1) return undefined;
  const declaration = matches[0]!;
  const list = declaration.getParent();
  if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return undefined;
  return declaration.getInitializer();
}

/** Strips `( … )`, `… as T`, `… satisfies T` and `<T>…`, which do not change the value. */
export function unwrapExpression(node: Node): Node {
  let current = node;
  for (;;) {
    if (
      Node.isParenthesizedExpression(current) ||
      Node.isAsExpression(current) ||
      Node.isSatisfiesExpression(current) ||
      Node.isTypeAssertion(current) ||
      Node.isNonNullExpression(current)
    ) {
      current = current.getExpression();
    } else {
      return current;
    }
  }
}

/** The property name as written, when it is static (`a`, `'a'`, `1`, `['a']`). */
export function staticPropertyName(property: Node): string | undefined {
  if (!Node.isPropertyAssignment(property) && !Node.isShorthandPropertyAssignment(property)) {
    if (!Node.isMethodDeclaration(property) && !Node.isGetAccessorDeclaration(property)) return undefined;
  }
  const nameNode = property.getNameNode();
  if (Node.isIdentifier(nameNode) || Node.isPrivateIdentifier(nameNode)) return nameNode.getText();
  if (Node.isStringLiteral(nameNode) || Node.isNoSubstitutionTemplateLiteral(nameNode)) {
    return nameNode.getLiteralText();
  }
  if (Node.isNumericLiteral(nameNode)) return nameNode.getLiteralText();
  if (Node.isComputedPropertyName(nameNode)) {
    const inner = unwrapExpression(nameNode.getExpression());
    if (Node.isStringLiteral(inner) || Node.isNoSubstitutionTemplateLiteral(inner))
      return inner.getLiteralText();
  }
  return undefined;
}

/**
 * Removes and renames options in one options object literal, as the mapping says. Properties it
 * cannot read statically (spreads, computed keys) are left and reported.
 */
export function rewriteOptions(
  options: ObjectLiteralExpression,
  mapping: ModuleMapping,
  review: (node: Node, reason: string) => void,
): TextChange[] {
  const changes: TextChange[] = [];
  const checked = [...Object.keys(mapping.removeOptions), ...Object.keys(mapping.renameOptions)];
  if (checked.length === 0) return changes;
  const text = options.getSourceFile().getFullText();
  for (const property of options.getProperties()) {
    if (Node.isSpreadAssignment(property)) {
      review(
        property,
        `options spread from \`${property.getExpression().getText()}\` were not checked for ${describeChecked(mapping)}`,
      );
      continue;
    }
    const name = staticPropertyName(property);
    if (name === undefined) {
      review(
        property,
        `option with a computed name \`${property.getText()}\` was not checked for ${describeChecked(mapping)}`,
      );
      continue;
    }
    const removalReason = ownValue(mapping.removeOptions, name);
    if (removalReason !== undefined) {
      changes.push(removeProperty(text, property, name, removalReason));
      continue;
    }
    const renamed = ownValue(mapping.renameOptions, name);
    if (renamed !== undefined && renamed !== name) {
      changes.push(renameProperty(property, renamed));
    }
  }
  return changes;
}

function describeChecked(mapping: ModuleMapping): string {
  const removed = Object.keys(mapping.removeOptions);
  const renamed = Object.entries(mapping.renameOptions).map(([from, to]) => `${from} → ${to}`);
  const parts: string[] = [];
  if (removed.length > 0) parts.push(`options the shim does not use (${removed.join(', ')})`);
  if (renamed.length > 0) parts.push(`options to rename (${renamed.join(', ')})`);
  return parts.join(' and ');
}

/**
 * Replaces `name: value,` by a comment saying why it went. A property alone on its line becomes a
 * line comment (with any comment that trailed it); one sharing its line becomes a block comment, so
 * `{ port: 1, multicast: '…' }` stays valid code.
 */
function removeProperty(text: string, property: Node, name: string, reason: string): TextChange {
  const start = property.getStart();
  let end = property.getEnd();
  let cursor = end;
  while (cursor < text.length && (text[cursor] === ' ' || text[cursor] === '\t')) cursor++;
  if (text[cursor] === ',') end = cursor + 1;

  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const aloneBefore = /^[ \t]*$/.test(text.slice(lineStart, start));
  let lineEnd = text.indexOf('\n', end);
  if (lineEnd === -1) lineEnd = text.length;
  if (text[lineEnd - 1] === '\r') lineEnd--;
  const trailing = /^[ \t]*(\/\/.*)?$/.exec(text.slice(end, lineEnd));
  if (aloneBefore && trailing !== null) {
    // The author's trailing comment stays, after ours.
    const kept = trailing[1] === undefined ? '' : ` ${trailing[1].trimEnd()}`;
    return { start, end: lineEnd, text: `// gossipless: removed \`${name}\` (${reason})${kept}` };
  }
  // Inline, the short form: the reason up to its first `;`.
  const shortReason = reason.split(';')[0]!.trim();
  return { start, end, text: `/* gossipless: removed \`${name}\` (${shortReason}) */` };
}

function renameProperty(property: Node, renamed: string): TextChange {
  if (Node.isShorthandPropertyAssignment(property)) {
    const nameNode = property.getNameNode();
    return { start: nameNode.getStart(), end: nameNode.getEnd(), text: `${renamed}: ${nameNode.getText()}` };
  }
  const nameNode = (property as Node & { getNameNode(): Node }).getNameNode();
  if (Node.isStringLiteral(nameNode) || Node.isNoSubstitutionTemplateLiteral(nameNode)) {
    // Keep the quotes the author chose; only the text between them changes.
    return { start: nameNode.getStart() + 1, end: nameNode.getEnd() - 1, text: renamed };
  }
  if (Node.isComputedPropertyName(nameNode)) {
    const inner = unwrapExpression(nameNode.getExpression());
    return { start: inner.getStart() + 1, end: inner.getEnd() - 1, text: renamed };
  }
  return { start: nameNode.getStart(), end: nameNode.getEnd(), text: renamed };
}

/** Review items point at a node's first token. */
export function reviewAt(node: Node, reason: string): ReviewItem {
  const { line, column } = node.getSourceFile().getLineAndColumnAtPos(node.getStart());
  return { line, column, reason, kind: 'call-site' };
}
