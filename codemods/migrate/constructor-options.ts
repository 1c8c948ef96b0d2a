import {
  Node,
  type CallExpression,
  type NewExpression,
  SyntaxKind,
  VariableDeclarationKind,
  type Identifier,
  type ObjectLiteralExpression,
  type SourceFile,
  type SpreadAssignment,
  type VariableDeclaration,
  ts,
} from 'ts-morph';
import { descendantsOfKind, identifiersNamed } from './node-index.js';
import { findDeclaration } from './scope.js';
import { outermostWrapper, unwrapExpression } from '../syntax/index.js';

export { unwrapExpression };
import { ownValue, type ModuleMapping, type ReviewItem, type TextChange } from './types.js';

/**
 * The object literal an options argument stands for: the literal itself, or the `const` object
 * literal it names (looked up lexically, through `const a = b` chains), for reading its values.
 * Returns undefined when the options are built any other way.
 */
export function resolveObjectLiteral(argument: Node | undefined): ObjectLiteralExpression | undefined {
  if (argument === undefined) return undefined;
  const source = resolveSpreadSource(argument);
  return 'unreadable' in source ? undefined : source.literal;
}

/**
 * The initializer of the only `const <name> = …` in the file. Two declarations of the same name (in
 * different scopes) make it ambiguous, and ambiguity returns undefined rather than a guess.
 */
export function resolveConstInitializer(sourceFile: SourceFile, name: string): Node | undefined {
  const named = (node: ts.Node): boolean => {
    const nameNode = (node as ts.VariableDeclaration).name;
    return ts.isIdentifier(nameNode) && ts.idText(nameNode) === name;
  };
  const matches = descendantsOfKind(sourceFile, SyntaxKind.VariableDeclaration, named).filter(
    (declaration) => Node.isIdentifier(declaration.getNameNode()) && declaration.getName() === name,
  );
  if (matches.length !== 1) return undefined;
  const declaration = matches[0]!;
  const list = declaration.getParent();
  if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return undefined;
  return declaration.getInitializer();
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

/** What {@link rewriteOptions} needs to know about the run it is part of. */
export interface OptionsRewriteContext {
  mapping: ModuleMapping;
  /** Records a call site for a human. */
  review: (node: Node, reason: string) => void;
  /**
   * The constructor calls of the mapping that this run rewrites. A `const` spread into options is
   * edited only when every use of it ends up as options of one of these calls.
   */
  legacyCalls: ReadonlySet<Node>;
  /** Object literals already handled in this run: one `const` shared by two calls is edited once. */
  handled: Set<ObjectLiteralExpression>;
}

/** A fresh {@link OptionsRewriteContext} for one mapping in one file. */
export function optionsRewriteContext(
  mapping: ModuleMapping,
  review: (node: Node, reason: string) => void,
  legacyCalls: Iterable<Node>,
): OptionsRewriteContext {
  return { mapping, review, legacyCalls: new Set(legacyCalls), handled: new Set() };
}

/**
 * Removes and renames options in one options object literal, as the mapping says. A spread is
 * followed when it resolves to a `const` object literal in the file: that literal is edited too when
 * only legacy calls of this run use it, and reported with the reason when it holds options to fix
 * but cannot be edited safely (or cannot be read). Computed keys are left and reported.
 */
export function rewriteOptions(
  options: ObjectLiteralExpression,
  context: OptionsRewriteContext,
): TextChange[] {
  const { mapping, review } = context;
  const changes: TextChange[] = [];
  if (context.handled.has(options)) return changes;
  context.handled.add(options);
  const checked = [...Object.keys(mapping.removeOptions), ...Object.keys(mapping.renameOptions)];
  if (checked.length === 0) return changes;
  const text = options.getSourceFile().getFullText();
  for (const property of options.getProperties()) {
    if (Node.isSpreadAssignment(property)) {
      changes.push(...rewriteSpread(property, context));
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

function rewriteSpread(property: SpreadAssignment, context: OptionsRewriteContext): TextChange[] {
  return rewriteReferencedOptions(
    property,
    property.getExpression(),
    `options spread from \`${property.getExpression().getText()}\``,
    context,
  );
}

/**
 * Fixes the options a legacy call's argument stands for (`Discover(opts)`), under the same rules as
 * a spread: an object literal is fixed in place, a `const` only when nothing but this run's legacy
 * calls uses it, anything else is reported with the reason.
 */
export function rewriteOptionsArgument(
  call: CallExpression | NewExpression,
  context: OptionsRewriteContext,
): TextChange[] {
  const { mapping, review } = context;
  const argument = call.getArguments()[0];
  if (argument === undefined) return [];
  const checked = [...Object.keys(mapping.removeOptions), ...Object.keys(mapping.renameOptions)];
  if (checked.length === 0) return [];
  const expression = unwrapExpression(argument);
  if (!Node.isIdentifier(expression) && !Node.isObjectLiteralExpression(expression)) {
    review(
      call,
      `options \`${argument.getText()}\` are built at run time, so ${checked.join(', ')} could not be checked here` +
        (Object.keys(mapping.renameOptions).length > 0
          ? ' (renames needed for the shim)'
          : ' (the shim ignores them with a warning)'),
    );
    return [];
  }
  return rewriteReferencedOptions(call, argument, `options \`${argument.getText()}\``, context);
}

function rewriteReferencedOptions(
  at: Node,
  expression: Node,
  label: string,
  context: OptionsRewriteContext,
): TextChange[] {
  const { mapping, review } = context;
  const source = resolveSpreadSource(expression);
  if ('unreadable' in source) {
    review(at, `${label} were not checked for ${describeChecked(mapping)}: ${source.unreadable}`);
    return [];
  }
  // An inline `{ … }` belongs to these options alone.
  if (source.declaration === undefined) return rewriteOptions(source.literal, context);
  const use = legacyOnlyUse(source.declaration, context.legacyCalls);
  if (use.safe) return rewriteOptions(source.literal, context);

  // Not ours to edit: fine when it holds nothing the mapping touches, reported otherwise.
  const inspection = inspectOptions(source.literal, mapping);
  if (inspection.found.length > 0) {
    review(
      at,
      `${label} set ${describeFound(inspection.found, mapping)}, ` +
        `but ${use.reason}, so ${source.name} was left as is: fix it by hand`,
    );
  } else if (inspection.unreadable.length > 0) {
    review(
      at,
      `${label} were not checked for ${describeChecked(mapping)}: ${inspection.unreadable.join('; ')}`,
    );
  }
  return [];
}

/**
 * The value an option ends up with in an object literal, as the object is built: the last property
 * of that name wins, and a readable spread after it can override it. `unreadable` when a spread that
 * could set it cannot be read (the value is then not known without running the code).
 */
export function findOptionValue(
  literal: ObjectLiteralExpression,
  name: string,
  seen = new Set<ObjectLiteralExpression>(),
): { value: Node } | { unreadable: string } | undefined {
  if (seen.has(literal)) return undefined;
  seen.add(literal);
  for (const property of [...literal.getProperties()].reverse()) {
    if (Node.isSpreadAssignment(property)) {
      const source = resolveSpreadSource(property.getExpression());
      if ('unreadable' in source) {
        return {
          unreadable: `it is spread from \`${property.getExpression().getText()}\`, and ${source.unreadable}`,
        };
      }
      const inner = findOptionValue(source.literal, name, seen);
      if (inner !== undefined) return inner;
      continue;
    }
    if (staticPropertyName(property) !== name) continue;
    if (Node.isPropertyAssignment(property)) return { value: property.getInitializer() ?? property };
    if (Node.isShorthandPropertyAssignment(property)) return { value: property.getNameNode() };
    return { unreadable: `it is a method or accessor` };
  }
  return undefined;
}

/** Where a spread's properties come from, or why that cannot be told without running the code. */
type SpreadSource =
  | {
      /** The object literal the spread copies. */
      literal: ObjectLiteralExpression;
      /** The `const` holding it; undefined for an inline `...{ … }`. */
      declaration: VariableDeclaration | undefined;
      /** For messages: `` `base` `` or `the inline object`. */
      name: string;
    }
  | { unreadable: string };

// Deep enough for real chains of consts, shallow enough to stop a cycle.
const MAX_CHAIN = 8;

/**
 * Follows a spread's expression to an object literal in the same file: inline, or a `const`
 * (through `const a = b` chains), with parentheses, `as`, `satisfies` and `!` unwrapped. The name is
 * looked up lexically, so a parameter or import shadowing a file-level const is not mistaken for it.
 */
export function resolveSpreadSource(expression: Node): SpreadSource {
  let current = unwrapExpression(expression);
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (Node.isObjectLiteralExpression(current)) {
      return { literal: current, declaration: undefined, name: 'the inline object' };
    }
    if (!Node.isIdentifier(current)) {
      return { unreadable: `\`${current.getText()}\` is ${describeRunTimeValue(current)}` };
    }
    const name = current.getText();
    const declaration = findDeclaration(current, name);
    if (declaration === undefined) return { unreadable: `\`${name}\` is not declared in this file` };
    if (Node.isImportDeclaration(declaration) || Node.isImportEqualsDeclaration(declaration)) {
      return { unreadable: `\`${name}\` is imported` };
    }
    if (Node.isParameterDeclaration(declaration)) return { unreadable: `\`${name}\` is a parameter` };
    if (!Node.isVariableDeclaration(declaration) || !Node.isIdentifier(declaration.getNameNode())) {
      return { unreadable: `\`${name}\` is not a const object literal` };
    }
    const kind = declarationKind(declaration);
    if (kind !== VariableDeclarationKind.Const) {
      return { unreadable: `\`${name}\` is declared with \`${kind}\`, so it may change` };
    }
    const initializer = declaration.getInitializer();
    if (initializer === undefined) return { unreadable: `\`${name}\` is not a const object literal` };
    const value = unwrapExpression(initializer);
    if (Node.isObjectLiteralExpression(value)) {
      return { literal: value, declaration, name: `\`${name}\`` };
    }
    if (!Node.isIdentifier(value)) {
      return {
        unreadable: `\`${name}\` is not a const object literal (it is ${describeRunTimeValue(value)})`,
      };
    }
    current = value;
  }
  return { unreadable: `\`${expression.getText()}\` is a chain of consts too long to follow` };
}

function declarationKind(declaration: VariableDeclaration): VariableDeclarationKind {
  const list = declaration.getParent();
  return Node.isVariableDeclarationList(list) ? list.getDeclarationKind() : VariableDeclarationKind.Var;
}

function describeRunTimeValue(node: Node): string {
  if (Node.isCallExpression(node) || Node.isNewExpression(node)) return 'built at run time';
  if (Node.isPropertyAccessExpression(node) || Node.isElementAccessExpression(node)) {
    return 'read from another object';
  }
  return 'not a const object literal';
}

/** The options the mapping touches in a literal (through its readable spreads), and what it could not read. */
function inspectOptions(
  literal: ObjectLiteralExpression,
  mapping: ModuleMapping,
  seen = new Set<ObjectLiteralExpression>(),
): { found: string[]; unreadable: string[] } {
  const found: string[] = [];
  const unreadable: string[] = [];
  if (seen.has(literal)) return { found, unreadable };
  seen.add(literal);
  for (const property of literal.getProperties()) {
    if (Node.isSpreadAssignment(property)) {
      const source = resolveSpreadSource(property.getExpression());
      if ('unreadable' in source) {
        unreadable.push(`it spreads \`${property.getExpression().getText()}\`, and ${source.unreadable}`);
        continue;
      }
      const inner = inspectOptions(source.literal, mapping, seen);
      found.push(...inner.found);
      unreadable.push(...inner.unreadable);
      continue;
    }
    const name = staticPropertyName(property);
    if (name === undefined) {
      unreadable.push(`it has the computed key \`${property.getText()}\``);
    } else if (
      ownValue(mapping.removeOptions, name) !== undefined ||
      ownValue(mapping.renameOptions, name) !== undefined
    ) {
      found.push(name);
    }
  }
  return { found: [...new Set(found)], unreadable };
}

/**
 * Whether editing a `const`'s object literal changes nothing but the options of this run's legacy
 * calls: it is not exported, and every reference to it in the file is such a call's argument, a
 * spread into options that are themselves only used so, or the initializer of another `const` that is.
 */
function legacyOnlyUse(
  declaration: VariableDeclaration,
  legacyCalls: ReadonlySet<Node>,
  visiting = new Set<Node>(),
): { safe: true } | { safe: false; reason: string } {
  const name = declaration.getName();
  if (visiting.has(declaration)) return { safe: false, reason: `\`${name}\` refers to itself` };
  visiting.add(declaration);
  if (isExportedConst(declaration)) {
    return { safe: false, reason: `\`${name}\` is exported` };
  }
  for (const reference of referencesTo(declaration)) {
    const use = usedOnlyAsLegacyOptions(reference, legacyCalls, visiting);
    if (!use.safe) {
      return { safe: false, reason: use.reason ?? describeOtherUse(`\`${name}\``, reference) };
    }
  }
  return { safe: true };
}

/**
 * `export const x` or `export { x }` / `export default x`, read from the syntax: ts-morph's
 * `isExported()` asks the type checker, which builds a program (with the lib files) per file.
 */
function isExportedConst(declaration: VariableDeclaration): boolean {
  if (declaration.getVariableStatement()?.hasExportKeyword() === true) return true;
  return identifiersNamed(declaration.getSourceFile(), declaration.getName()).some((identifier) => {
    const parent = identifier.getParent();
    return parent !== undefined && (Node.isExportSpecifier(parent) || Node.isExportAssignment(parent));
  });
}

/** Whether a value at `node` only ever becomes options of a legacy call; the reason when a const further out is not. */
function usedOnlyAsLegacyOptions(
  node: Node,
  legacyCalls: ReadonlySet<Node>,
  visiting: Set<Node>,
): { safe: true } | { safe: false; reason?: string } {
  const value = outermostWrapper(node);
  const parent = value.getParent();
  if (parent === undefined) return { safe: false };
  if (
    (Node.isCallExpression(parent) || Node.isNewExpression(parent)) &&
    legacyCalls.has(parent) &&
    parent.getArguments()[0] === value
  ) {
    return { safe: true };
  }
  if (Node.isSpreadAssignment(parent)) {
    const literal = parent.getParent();
    return Node.isObjectLiteralExpression(literal)
      ? usedOnlyAsLegacyOptions(literal, legacyCalls, visiting)
      : { safe: false };
  }
  if (Node.isVariableDeclaration(parent) && parent.getInitializer() === value) {
    const holder = parent.getNameNode().getText();
    const kind = declarationKind(parent);
    if (kind !== VariableDeclarationKind.Const) {
      return { safe: false, reason: `\`${holder}\` (which holds it) is declared with \`${kind}\`` };
    }
    if (!Node.isIdentifier(parent.getNameNode()))
      return { safe: false, reason: `it is destructured into \`${holder}\`` };
    // The reason names the const further out (`shared` is exported), which is what a reader must look at.
    return legacyOnlyUse(parent, legacyCalls, visiting);
  }
  return { safe: false };
}

/** Why a use outside legacy options blocks the edit: it is exported, or used at some line. */
function describeOtherUse(subject: string, use: Node): string {
  const exported = use.getFirstAncestor(
    (node) => Node.isExportSpecifier(node) || Node.isExportAssignment(node),
  );
  if (exported !== undefined) return `${subject} is exported`;
  const { line } = use.getSourceFile().getLineAndColumnAtPos(use.getStart());
  return `${subject} is also used at line ${line}`;
}

/**
 * Every identifier in the file that refers to the declaration, found lexically. Over-counting is the
 * safe side (an extra use only means the const is reported instead of edited), so only names that
 * are plainly not references (property names, `x.name`, the declaration itself) are left out.
 */
function referencesTo(declaration: VariableDeclaration): Identifier[] {
  const name = declaration.getName();
  const nameNode = declaration.getNameNode();
  return identifiersNamed(declaration.getSourceFile(), name)
    .filter(Node.isIdentifier)
    .filter(
      (identifier) =>
        identifier !== nameNode &&
        identifier.getText() === name &&
        !isMemberName(identifier) &&
        findDeclaration(identifier, name) === declaration,
    );
}

function isMemberName(identifier: Identifier): boolean {
  const parent = identifier.getParent();
  if (parent === undefined) return false;
  if (Node.isPropertyAccessExpression(parent)) return parent.getNameNode() === identifier;
  if (Node.isQualifiedName(parent)) return parent.getRight() === identifier;
  if (
    Node.isPropertyAssignment(parent) ||
    Node.isPropertyDeclaration(parent) ||
    Node.isPropertySignature(parent) ||
    Node.isMethodDeclaration(parent) ||
    Node.isMethodSignature(parent) ||
    Node.isGetAccessorDeclaration(parent) ||
    Node.isSetAccessorDeclaration(parent) ||
    Node.isEnumMember(parent)
  ) {
    return parent.getNameNode() === identifier;
  }
  if (Node.isBindingElement(parent)) return parent.getPropertyNameNode() === identifier;
  return false;
}

/** `` `multicast` (the shim does not use it), `max` (`limit` in the shim) ``. */
function describeFound(names: readonly string[], mapping: ModuleMapping): string {
  return names
    .map((name) => {
      const renamed = ownValue(mapping.renameOptions, name);
      return renamed === undefined
        ? `\`${name}\` (the shim does not use it)`
        : `\`${name}\` (\`${renamed}\` in the shim)`;
    })
    .join(', ');
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
