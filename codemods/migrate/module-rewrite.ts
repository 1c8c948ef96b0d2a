import path from 'node:path';
import {
  Node,
  SyntaxKind,
  ts,
  type CallExpression,
  type ExportDeclaration,
  type ImportDeclaration,
  type ImportSpecifier,
  type NewExpression,
  type ObjectLiteralExpression,
  type PropertyAccessExpression,
  type SourceFile,
} from 'ts-morph';
import {
  optionsRewriteContext,
  resolveObjectLiteral,
  reviewAt,
  rewriteOptionsArgument,
} from './constructor-options.js';
import { outermostWrapper } from '../syntax/index.js';
import { descendantsOfKind } from './node-index.js';
import { isShadowed } from './scope.js';
import {
  ownValue,
  type ModuleMapping,
  type TextChange,
  type TransformContext,
  type TransformResult,
} from './types.js';

/** A call of the legacy constructor export, with its options when they are a literal. */
export interface ConstructorCall {
  call: CallExpression | NewExpression;
  /** The options object literal (inline, or the `const` it names), when there is one. */
  options: ObjectLiteralExpression | undefined;
}

/** What {@link rewriteModule} found and changed for one mapping in one file. */
export interface ModuleRewrite extends TransformResult {
  constructorCalls: ConstructorCall[];
}

const SOURCE_EXTENSION = /\.(d\.)?(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

/** True when the specifier, written in the file at `fromFile`, names the mapping's legacy module. */
export function specifierMatches(mapping: ModuleMapping, specifier: string, fromFile: string): boolean {
  if (mapping.from.kind === 'specifier') return specifier === mapping.from.specifier;
  if (!specifier.startsWith('.') && !path.isAbsolute(specifier)) return false;
  return stripModulePath(path.resolve(path.dirname(fromFile), specifier)) === mapping.from.absolutePath;
}

/** `/a/limiter.js`, `/a/limiter.ts` and `/a/limiter/index.ts` all name the module `/a/limiter`. */
export function stripModulePath(modulePath: string): string {
  const withoutExtension = modulePath.replace(SOURCE_EXTENSION, '');
  return withoutExtension.endsWith(`${path.sep}index`)
    ? withoutExtension.slice(0, -`${path.sep}index`.length)
    : withoutExtension;
}

/**
 * Rewrites every import form of one legacy module to its shim, maps export names, fixes the options
 * at constructor call sites and removes `declare module` stubs. Pure: it reads the parsed file and
 * returns text changes; the runner applies them.
 *
 * The steps, in order:
 * 1. find the string literals that name the module ({@link moduleSpecifierLiterals});
 * 2. rewrite each by what it stands in: an import, a re-export, `import = require`, `require`, a
 *    dynamic `import()`, an import type, a `declare module` stub ({@link rewriteSpecifierUse}),
 *    which also records the local names bound to the module and to its constructor;
 * 3. find the constructor calls made through those names ({@link collectConstructorCalls});
 * 4. rename the exports read through a namespace (`nd.X`) ({@link renameNamespaceAccesses});
 * 5. fix the options at every constructor call, once all calls are known ({@link fixConstructorOptions}).
 */
export function rewriteModule(
  sourceFile: SourceFile,
  mapping: ModuleMapping,
  context: TransformContext,
): ModuleRewrite {
  const rewrite = createRewrite(sourceFile, mapping, context);
  for (const literal of moduleSpecifierLiterals(rewrite)) rewriteSpecifierUse(rewrite, literal);
  if (rewrite.constructorLocals.size > 0 || rewrite.namespaceLocals.size > 0) {
    collectConstructorCalls(rewrite);
    renameNamespaceAccesses(rewrite);
  }
  if (rewrite.edits) fixConstructorOptions(rewrite);
  return rewrite.result;
}

/** What the steps of one {@link rewriteModule} run share: the input, the result, the bindings found. */
interface Rewrite {
  readonly sourceFile: SourceFile;
  readonly mapping: ModuleMapping;
  readonly context: TransformContext;
  /** False for a mapping that only extracts (rate limits): nothing is changed, calls are still found. */
  readonly edits: boolean;
  readonly result: ModuleRewrite;
  /** Legacy exports the shim names differently, `[legacy, shim]`. */
  readonly renamed: readonly (readonly [string, string])[];
  /**
   * With an explicit export map (in-house modules), a name it does not list may not exist in the
   * shim: such an import is left on the legacy module rather than broken.
   */
  readonly hasExportMap: boolean;
  /** Local names bound to the constructor export, with the declaration that bound them (for shadowing). */
  readonly constructorLocals: Map<string, Node>;
  /** Local names bound to the whole module (namespace), with their declaration. */
  readonly namespaceLocals: Map<string, Node>;
  /**
   * Namespaces bound by `require` / `import = require` hold module.exports itself: the shim's
   * `default` is then the namespace, not a `.default` property.
   */
  readonly commonJsNamespaces: Set<string>;
  /** Calls found while rewriting a `require` (`require('x')(…)`), not to be collected twice. */
  readonly directConstructorCalls: Set<Node>;
}

function createRewrite(sourceFile: SourceFile, mapping: ModuleMapping, context: TransformContext): Rewrite {
  return {
    sourceFile,
    mapping,
    context,
    edits: !mapping.extractOnly,
    result: { changes: [], reviews: [], rateLimits: [], constructorCalls: [] },
    renamed: Object.entries(mapping.exports).filter(([legacy, shim]) => legacy !== shim),
    hasExportMap: Object.keys(mapping.exports).length > 0,
    constructorLocals: new Map(),
    namespaceLocals: new Map(),
    commonJsNamespaces: new Set(),
    directConstructorCalls: new Set(),
  };
}

// --- Small operations the steps share ---

function review(rewrite: Rewrite, node: Node, reason: string): void {
  rewrite.result.reviews.push(reviewAt(node, reason));
}

/** The shim's name for a legacy export (the same name when the mapping does not rename it). */
function shimName(rewrite: Rewrite, legacy: string): string {
  return ownValue(rewrite.mapping.exports, legacy) ?? legacy;
}

function describeRenames(rewrite: Rewrite): string {
  return rewrite.renamed.map(([legacy, shim]) => `${legacy} → ${shim}`).join(', ');
}

/** The names an explicit export map does not list (none without one). */
function unmapped(rewrite: Rewrite, names: readonly string[]): string[] {
  return rewrite.hasExportMap
    ? names.filter((name) => ownValue(rewrite.mapping.exports, name) === undefined)
    : [];
}

function reviewUnmapped(rewrite: Rewrite, node: Node, names: readonly string[]): void {
  const one = names.length === 1;
  review(
    rewrite,
    node,
    `${names.map((name) => `\`${name}\``).join(', ')} ${one ? 'is' : 'are'} not in the export mapping of ` +
      `${rewrite.mapping.name} (gossipless.config.json), so the shim may not have ${one ? 'it' : 'them'}: ` +
      `import left as is; add ${one ? 'it' : 'them'} to "exports" or move ${one ? 'it' : 'them'} to another import`,
  );
}

/** Records that `local` names the legacy export `legacyExport` (kept only for the constructor). */
function bind(rewrite: Rewrite, local: string, legacyExport: string, declaration: Node): void {
  if (legacyExport === rewrite.mapping.constructorExport) rewrite.constructorLocals.set(local, declaration);
}

/** Points a module specifier at the shim, keeping its quotes. */
function swap(rewrite: Rewrite, literal: Node): void {
  if (rewrite.edits) {
    rewrite.result.changes.push({
      start: literal.getStart() + 1,
      end: literal.getEnd() - 1,
      text: rewrite.mapping.to,
    });
  }
}

function replaceNode(rewrite: Rewrite, node: Node, text: string): void {
  if (rewrite.edits) rewrite.result.changes.push({ start: node.getStart(), end: node.getEnd(), text });
}

// --- Step 1: the literals that name the module ---

function moduleSpecifierLiterals(rewrite: Rewrite): Node[] {
  const namesModule = (node: ts.Node): boolean =>
    specifierMatches(rewrite.mapping, (node as ts.StringLiteral).text, rewrite.context.absolutePath);
  return [
    ...descendantsOfKind(rewrite.sourceFile, SyntaxKind.StringLiteral, namesModule),
    ...descendantsOfKind(rewrite.sourceFile, SyntaxKind.NoSubstitutionTemplateLiteral, namesModule),
  ];
}

// --- Step 2: each literal, by what it stands in ---

function rewriteSpecifierUse(rewrite: Rewrite, literal: Node): void {
  const parent = literal.getParent();
  if (parent === undefined) return;
  if (Node.isImportDeclaration(parent) && parent.getModuleSpecifierValue() !== undefined) {
    rewriteImport(rewrite, parent, literal);
  } else if (Node.isExportDeclaration(parent)) {
    rewriteReExport(rewrite, parent, literal);
  } else if (Node.isExternalModuleReference(parent)) {
    rewriteImportEquals(rewrite, parent, literal);
  } else if (Node.isCallExpression(parent) && parent.getArguments()[0] === literal) {
    rewriteCallWithSpecifier(rewrite, parent, literal);
  } else if (Node.isLiteralTypeNode(parent) && Node.isImportTypeNode(parent.getParent())) {
    rewriteImportType(rewrite, parent, literal);
  } else if (Node.isModuleDeclaration(parent) && parent.getNameNode() === literal) {
    // A hand-written `declare module 'node-discover'` stub: the shim ships its own types, and
    // the stub would otherwise shadow nothing and rot.
    if (rewrite.edits && rewrite.mapping.from.kind === 'specifier') {
      rewrite.result.changes.push(removeStatement(rewrite.sourceFile, parent));
    }
  }
}

/** `import D, { a as b } from '…'`, `import * as nd from '…'`, `import type …`. */
function rewriteImport(rewrite: Rewrite, declaration: ImportDeclaration, literal: Node): void {
  const clause = declaration.getImportClause();
  const defaultImport = clause?.getDefaultImport();
  const namedBindings = clause?.getNamedBindings();
  const namedImports =
    namedBindings !== undefined && Node.isNamedImports(namedBindings) ? namedBindings.getElements() : [];
  const names = [
    ...(defaultImport === undefined ? [] : ['default']),
    ...namedImports.map((specifier) => specifier.getName()),
  ];
  const unknown = unmapped(rewrite, names);
  if (unknown.length > 0) {
    reviewUnmapped(rewrite, declaration, unknown);
    return;
  }
  const defaultShim = shimName(rewrite, 'default');
  if (defaultImport !== undefined && defaultShim !== 'default') {
    if (namedBindings !== undefined && Node.isNamespaceImport(namedBindings)) {
      review(
        rewrite,
        declaration,
        `default and namespace import together, and the shim's default export is \`${defaultShim}\`: split the import by hand`,
      );
      return;
    }
    // The default becomes a named import under its old local name: `{ Shim as D, a as b }`.
    const parts = [
      `${defaultShim} as ${defaultImport.getText()}`,
      ...namedImports.map((specifier) => renderImportSpecifier(rewrite, specifier)),
    ];
    if (rewrite.edits) {
      rewrite.result.changes.push({
        start: defaultImport.getStart(),
        end: (namedBindings ?? defaultImport).getEnd(),
        text: `{ ${parts.join(', ')} }`,
      });
    }
  } else {
    for (const specifier of namedImports) renameSpecifier(rewrite, specifier);
  }
  swap(rewrite, literal);
  if (defaultImport !== undefined) bind(rewrite, defaultImport.getText(), 'default', declaration);
  if (namedBindings !== undefined && Node.isNamespaceImport(namedBindings)) {
    rewrite.namespaceLocals.set(namedBindings.getName(), declaration);
  }
  for (const specifier of namedImports) {
    bind(
      rewrite,
      specifier.getAliasNode()?.getText() ?? specifier.getName(),
      specifier.getName(),
      declaration,
    );
  }
}

function renderImportSpecifier(rewrite: Rewrite, specifier: ImportSpecifier): string {
  const legacy = specifier.getName();
  const local = specifier.getAliasNode()?.getText() ?? legacy;
  const shim = shimName(rewrite, legacy);
  const typePrefix = specifier.isTypeOnly() ? 'type ' : '';
  return shim === local ? `${typePrefix}${shim}` : `${typePrefix}${shim} as ${local}`;
}

function renameSpecifier(
  rewrite: Rewrite,
  specifier: { getNameNode(): Node; getAliasNode(): Node | undefined },
): void {
  const nameNode = specifier.getNameNode();
  const legacy = Node.isStringLiteral(nameNode) ? nameNode.getLiteralText() : nameNode.getText();
  const shim = shimName(rewrite, legacy);
  if (shim === legacy) return;
  // Keep the local name, so the rest of the file reads the same.
  replaceNode(rewrite, nameNode, specifier.getAliasNode() !== undefined ? shim : `${shim} as ${legacy}`);
}

/** `export { a as b } from '…'`, `export * from '…'`. */
function rewriteReExport(rewrite: Rewrite, declaration: ExportDeclaration, literal: Node): void {
  if (declaration.hasNamedExports()) {
    const unknown = unmapped(
      rewrite,
      declaration.getNamedExports().map((specifier) => specifier.getNameNode().getText()),
    );
    if (unknown.length > 0) {
      reviewUnmapped(rewrite, declaration, unknown);
      return;
    }
    for (const specifier of declaration.getNamedExports()) renameSpecifier(rewrite, specifier);
    swap(rewrite, literal);
    return;
  }
  if (rewrite.renamed.length > 0) {
    review(
      rewrite,
      declaration,
      `\`${declaration.getText()}\` re-exports every name of the legacy module, and the shim names some ` +
        `differently (${describeRenames(rewrite)}): list the re-exported names by hand`,
    );
    return;
  }
  swap(rewrite, literal);
}

/** `import X = require('…')`. */
function rewriteImportEquals(rewrite: Rewrite, reference: Node, literal: Node): void {
  const declaration = reference.getParentIfKindOrThrow(SyntaxKind.ImportEqualsDeclaration);
  const local = declaration.getName();
  const defaultShim = shimName(rewrite, 'default');
  if (defaultShim !== 'default') {
    // `import X = require()` binds module.exports; the shim exports the constructor by name, and
    // TypeScript has no `import X = require().Name`, so the import becomes a named one.
    if (declaration.hasExportKeyword()) {
      review(
        rewrite,
        declaration,
        `exported \`import … = require()\` of a module whose export is renamed: rewrite by hand`,
      );
      return;
    }
    const quote = literal.getText()[0] ?? "'";
    const semicolon = declaration.getText().trimEnd().endsWith(';') ? ';' : '';
    replaceNode(
      rewrite,
      declaration,
      `import { ${defaultShim} as ${local} } from ${quote}${rewrite.mapping.to}${quote}${semicolon}`,
    );
    bind(rewrite, local, 'default', declaration);
    return;
  }
  swap(rewrite, literal);
  rewrite.namespaceLocals.set(local, declaration);
  rewrite.commonJsNamespaces.add(local);
  bind(rewrite, local, 'default', declaration);
}

/** A call whose first argument names the module: `import('…')`, `require('…')`, or anything else. */
function rewriteCallWithSpecifier(rewrite: Rewrite, call: CallExpression, literal: Node): void {
  const callee = call.getExpression();
  if (callee.getKind() === SyntaxKind.ImportKeyword) rewriteDynamicImport(rewrite, call, literal);
  else if (Node.isIdentifier(callee) && callee.getText() === 'require')
    rewriteRequire(rewrite, call, literal);
  else if (rewrite.edits) {
    review(
      rewrite,
      call,
      `\`${callee.getText()}(${literal.getText()})\` names the legacy module outside an import; ` +
        `point it at ${rewrite.mapping.to} by hand if it should follow the import`,
    );
  }
}

/** `const D = require('…')`, `require('…').X`, `const { X } = require('…')`, `new (require('…'))()`. */
function rewriteRequire(rewrite: Rewrite, call: CallExpression, literal: Node): void {
  const outer = outermostWrapper(call);
  const parent = outer.getParent();
  if (parent !== undefined && Node.isPropertyAccessExpression(parent) && parent.getExpression() === outer) {
    rewriteRequireProperty(rewrite, parent, literal);
    return;
  }
  const declaration =
    parent !== undefined && Node.isVariableDeclaration(parent) && parent.getInitializer() === outer
      ? parent
      : undefined;
  const name = declaration?.getNameNode();
  if (declaration !== undefined && name !== undefined && Node.isObjectBindingPattern(name)) {
    if (bindDestructured(rewrite, name, declaration)) swap(rewrite, literal);
    return;
  }
  swap(rewrite, literal);
  const defaultShim = shimName(rewrite, 'default');
  if (defaultShim !== 'default' && rewrite.edits) {
    // module.exports was the constructor; the shim exports it by name.
    rewrite.result.changes.push({ start: call.getEnd(), end: call.getEnd(), text: `.${defaultShim}` });
  }
  if (declaration !== undefined && name !== undefined && Node.isIdentifier(name)) {
    if (defaultShim === 'default') {
      rewrite.namespaceLocals.set(name.getText(), declaration);
      rewrite.commonJsNamespaces.add(name.getText());
    }
    bind(rewrite, name.getText(), 'default', declaration);
    return;
  }
  if (rewrite.mapping.constructorExport === 'default') markDirectCall(rewrite, outer);
}

/** `require('…').X` (also as `const Y = require('…').X`). */
function rewriteRequireProperty(rewrite: Rewrite, access: PropertyAccessExpression, literal: Node): void {
  const legacy = access.getName();
  if (unmapped(rewrite, [legacy]).length > 0) {
    reviewUnmapped(rewrite, access, [legacy]);
    return;
  }
  swap(rewrite, literal);
  if (shimName(rewrite, legacy) !== legacy)
    replaceNode(rewrite, access.getNameNode(), shimName(rewrite, legacy));
  const declaration = access.getParent();
  if (Node.isVariableDeclaration(declaration) && Node.isIdentifier(declaration.getNameNode())) {
    bind(rewrite, declaration.getName(), legacy, declaration);
  }
  if (legacy === rewrite.mapping.constructorExport) markDirectCall(rewrite, access);
}

/** `await import('…')`, `const { X } = await import('…')`. */
function rewriteDynamicImport(rewrite: Rewrite, call: CallExpression, literal: Node): void {
  const awaited = call.getParent();
  const declaration =
    awaited !== undefined && Node.isAwaitExpression(awaited) ? awaited.getParent() : undefined;
  const pattern =
    declaration !== undefined && Node.isVariableDeclaration(declaration)
      ? declaration.getNameNode()
      : undefined;
  if (pattern !== undefined && Node.isObjectBindingPattern(pattern)) {
    if (bindDestructured(rewrite, pattern, declaration!)) swap(rewrite, literal);
    return;
  }
  if (rewrite.renamed.length > 0) {
    review(
      rewrite,
      call,
      `dynamic import() of a module whose shim names exports differently (${describeRenames(rewrite)}): ` +
        `the names used from it cannot be followed; destructure them (\`const { … } = await import()\`) or rewrite by hand`,
    );
    return;
  }
  swap(rewrite, literal);
}

/** `typeof import('…').X`: the specifier, and the qualifier when the shim renames it. */
function rewriteImportType(rewrite: Rewrite, literalType: Node, literal: Node): void {
  swap(rewrite, literal);
  const qualifier = literalType.getParentOrThrow().asKindOrThrow(SyntaxKind.ImportType).getQualifier();
  if (qualifier !== undefined && Node.isIdentifier(qualifier)) {
    const shim = shimName(rewrite, qualifier.getText());
    if (shim !== qualifier.getText()) replaceNode(rewrite, qualifier, shim);
  }
}

/** Binds and renames `{ a, b: c }` taken from the module; false (and reported) when a name is unmapped. */
function bindDestructured(rewrite: Rewrite, pattern: Node, declaration: Node): boolean {
  if (!Node.isObjectBindingPattern(pattern)) return true;
  const unknown = unmapped(
    rewrite,
    pattern.getElements().map((element) => element.getPropertyNameNode()?.getText() ?? element.getName()),
  );
  if (unknown.length > 0) {
    reviewUnmapped(rewrite, declaration, unknown);
    return false;
  }
  for (const element of pattern.getElements()) {
    const nameNode = element.getNameNode();
    if (!Node.isIdentifier(nameNode)) continue;
    bind(
      rewrite,
      nameNode.getText(),
      element.getPropertyNameNode()?.getText() ?? nameNode.getText(),
      declaration,
    );
  }
  for (const element of pattern.getElements()) {
    const nameNode = element.getNameNode();
    if (!Node.isIdentifier(nameNode)) continue;
    const propertyNode = element.getPropertyNameNode();
    const legacy = propertyNode !== undefined ? propertyNode.getText() : nameNode.getText();
    const shim = shimName(rewrite, legacy);
    if (shim !== legacy) {
      if (propertyNode !== undefined) replaceNode(rewrite, propertyNode, shim);
      else replaceNode(rewrite, nameNode, `${shim}: ${nameNode.getText()}`);
    }
  }
  return true;
}

/** `require('…')(…)` / `new (require('…').X)(…)`: a constructor call made without a local name. */
function markDirectCall(rewrite: Rewrite, callee: Node): void {
  const call = callee.getParent();
  if (
    call !== undefined &&
    (Node.isCallExpression(call) || Node.isNewExpression(call)) &&
    call.getExpression() === callee
  ) {
    rewrite.directConstructorCalls.add(call);
    recordConstructorCall(rewrite, call);
  }
}

// Options are fixed once every constructor call is known (step 5): whether a `const` spread into
// them may be edited depends on all its uses being such calls.
function recordConstructorCall(rewrite: Rewrite, call: CallExpression | NewExpression): void {
  rewrite.result.constructorCalls.push({ call, options: resolveObjectLiteral(call.getArguments()[0]) });
}

// --- Step 3: constructor calls through the bound names ---

function collectConstructorCalls(rewrite: Rewrite): void {
  const calls = [
    ...descendantsOfKind(rewrite.sourceFile, SyntaxKind.CallExpression),
    ...descendantsOfKind(rewrite.sourceFile, SyntaxKind.NewExpression),
  ];
  for (const call of calls) {
    if (rewrite.directConstructorCalls.has(call)) continue;
    if (isConstructorReference(rewrite, call.getExpression())) recordConstructorCall(rewrite, call);
  }
}

/** `D`, `(D)` or `nd.Constructor`, bound to the module and not shadowed where it is used. */
function isConstructorReference(rewrite: Rewrite, callee: Node): boolean {
  const expression = Node.isParenthesizedExpression(callee) ? callee.getExpression() : callee;
  if (Node.isIdentifier(expression)) {
    const binding = rewrite.constructorLocals.get(expression.getText());
    return binding !== undefined && !isShadowed(expression, expression.getText(), binding);
  }
  if (Node.isPropertyAccessExpression(expression)) {
    const target = expression.getExpression();
    if (!Node.isIdentifier(target)) return false;
    const binding = rewrite.namespaceLocals.get(target.getText());
    if (binding === undefined || isShadowed(expression, target.getText(), binding)) return false;
    return expression.getName() === rewrite.mapping.constructorExport;
  }
  return false;
}

// --- Step 4: exports read through a namespace ---

/** `nd.X` where the shim renames `X` (or the export map does not list it). */
function renameNamespaceAccesses(rewrite: Rewrite): void {
  if ((rewrite.renamed.length === 0 && !rewrite.hasExportMap) || rewrite.namespaceLocals.size === 0) return;
  const onNamespace = (node: ts.Node): boolean => {
    const target = (node as ts.PropertyAccessExpression).expression;
    return ts.isIdentifier(target) && rewrite.namespaceLocals.has(ts.idText(target));
  };
  for (const access of descendantsOfKind(
    rewrite.sourceFile,
    SyntaxKind.PropertyAccessExpression,
    onNamespace,
  )) {
    const target = access.getExpression();
    if (!Node.isIdentifier(target)) continue;
    const binding = rewrite.namespaceLocals.get(target.getText());
    if (binding === undefined || isShadowed(access, target.getText(), binding)) continue;
    const legacy = access.getName();
    if (unmapped(rewrite, [legacy]).length > 0) {
      review(
        rewrite,
        access,
        `\`${access.getText()}\` is not in the export mapping of ${rewrite.mapping.name}; the shim may not have it`,
      );
      continue;
    }
    const shim = shimName(rewrite, legacy);
    if (shim === legacy) continue;
    if (shim === 'default' && rewrite.commonJsNamespaces.has(target.getText())) {
      replaceNode(rewrite, access, target.getText());
    } else {
      replaceNode(rewrite, access.getNameNode(), shim);
    }
  }
}

// --- Step 5: options at the constructor calls ---

function fixConstructorOptions(rewrite: Rewrite): void {
  const optionsContext = optionsRewriteContext(
    rewrite.mapping,
    (node, reason) => review(rewrite, node, reason),
    rewrite.result.constructorCalls.map(({ call }) => call),
  );
  for (const { call } of rewrite.result.constructorCalls) {
    rewrite.result.changes.push(...rewriteOptionsArgument(call, optionsContext));
  }
}

/**
 * Removes a whole statement with the comments directly above it (they describe the stub), and the
 * line it stood on, so no blank hole is left.
 */
export function removeStatement(sourceFile: SourceFile, statement: Node): TextChange {
  const text = sourceFile.getFullText();
  let start = statement.getStart();
  const comments = statement.getLeadingCommentRanges();
  for (let index = comments.length - 1; index >= 0; index--) {
    const comment = comments[index]!;
    const gap = text.slice(comment.getEnd(), start);
    if (/^[ \t]*\r?\n?[ \t]*$/.test(gap)) start = comment.getPos();
    else break;
  }
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  if (/^[ \t]*$/.test(text.slice(lineStart, start))) start = lineStart;
  let end = statement.getEnd();
  const newline = /^[ \t]*\r?\n/.exec(text.slice(end));
  if (newline !== null) end += newline[0].length;
  // Removing a block between blank lines (or at the top) would leave two blank lines (or one on top).
  if (start === 0 || /\n[ \t]*\r?\n$/.test(text.slice(0, start))) {
    const blank = /^[ \t]*\r?\n/.exec(text.slice(end));
    if (blank !== null) end += blank[0].length;
  }
  return { start, end, text: '' };
}
