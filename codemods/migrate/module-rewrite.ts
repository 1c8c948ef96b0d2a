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
  type SourceFile,
} from 'ts-morph';
import {
  optionsRewriteContext,
  resolveObjectLiteral,
  reviewAt,
  rewriteOptionsArgument,
} from './constructor-options.js';
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
 */
export function rewriteModule(
  sourceFile: SourceFile,
  mapping: ModuleMapping,
  context: TransformContext,
): ModuleRewrite {
  const changes: TextChange[] = [];
  const result: ModuleRewrite = { changes, reviews: [], rateLimits: [], constructorCalls: [] };
  const rewrite = !mapping.extractOnly;
  const review = (node: Node, reason: string): void => void result.reviews.push(reviewAt(node, reason));
  const shimName = (legacy: string): string => ownValue(mapping.exports, legacy) ?? legacy;
  const renamed = Object.entries(mapping.exports).filter(([legacy, shim]) => legacy !== shim);
  const describeRenames = (): string => renamed.map(([legacy, shim]) => `${legacy} → ${shim}`).join(', ');
  // With an explicit export map (in-house modules), a name it does not list may not exist in the
  // shim: such an import is left on the legacy module rather than broken.
  const hasExportMap = Object.keys(mapping.exports).length > 0;
  const unmapped = (names: readonly string[]): string[] =>
    hasExportMap ? names.filter((name) => ownValue(mapping.exports, name) === undefined) : [];
  const reportUnmapped = (node: Node, names: readonly string[]): void =>
    review(
      node,
      `${names.map((name) => `\`${name}\``).join(', ')} ${names.length === 1 ? 'is' : 'are'} not in the export mapping of ` +
        `${mapping.name} (gossipless.config.json), so the shim may not have ${names.length === 1 ? 'it' : 'them'}: ` +
        `import left as is; add ${names.length === 1 ? 'it' : 'them'} to "exports" or move ${names.length === 1 ? 'it' : 'them'} to another import`,
    );

  // Local names bound to the constructor export, and to the whole module (namespace), with the
  // declaration that bound them (for the shadowing check).
  const constructorLocals = new Map<string, Node>();
  const namespaceLocals = new Map<string, Node>();
  // Namespaces bound by `require` / `import = require` hold module.exports itself: the shim's
  // `default` is then the namespace, not a `.default` property.
  const commonJsNamespaces = new Set<string>();
  const directConstructorCalls = new Set<Node>();
  const bind = (local: string, legacyExport: string, declaration: Node): void => {
    if (legacyExport === mapping.constructorExport) constructorLocals.set(local, declaration);
  };

  const swap = (literal: Node): void => {
    if (rewrite) changes.push({ start: literal.getStart() + 1, end: literal.getEnd() - 1, text: mapping.to });
  };
  const renameNode = (node: Node, text: string): void => {
    if (rewrite) changes.push({ start: node.getStart(), end: node.getEnd(), text });
  };

  const namesModule = (node: ts.Node): boolean =>
    specifierMatches(mapping, (node as ts.StringLiteral).text, context.absolutePath);
  const literals = [
    ...descendantsOfKind(sourceFile, SyntaxKind.StringLiteral, namesModule),
    ...descendantsOfKind(sourceFile, SyntaxKind.NoSubstitutionTemplateLiteral, namesModule),
  ];

  for (const literal of literals) {
    const parent = literal.getParent();
    if (parent === undefined) continue;

    if (Node.isImportDeclaration(parent) && parent.getModuleSpecifierValue() !== undefined) {
      handleImport(parent, literal);
    } else if (Node.isExportDeclaration(parent)) {
      handleReExport(parent, literal);
    } else if (Node.isExternalModuleReference(parent)) {
      handleImportEquals(parent, literal);
    } else if (Node.isCallExpression(parent) && parent.getArguments()[0] === literal) {
      const callee = parent.getExpression();
      if (callee.getKind() === SyntaxKind.ImportKeyword) handleDynamicImport(parent, literal);
      else if (Node.isIdentifier(callee) && callee.getText() === 'require') handleRequire(parent, literal);
      else if (rewrite) {
        review(
          parent,
          `\`${callee.getText()}(${literal.getText()})\` names the legacy module outside an import; ` +
            `point it at ${mapping.to} by hand if it should follow the import`,
        );
      }
    } else if (Node.isLiteralTypeNode(parent) && Node.isImportTypeNode(parent.getParent())) {
      swap(literal);
      const qualifier = parent.getParentOrThrow().asKindOrThrow(SyntaxKind.ImportType).getQualifier();
      if (
        qualifier !== undefined &&
        Node.isIdentifier(qualifier) &&
        shimName(qualifier.getText()) !== qualifier.getText()
      ) {
        renameNode(qualifier, shimName(qualifier.getText()));
      }
    } else if (Node.isModuleDeclaration(parent) && parent.getNameNode() === literal) {
      // A hand-written `declare module 'node-discover'` stub: the shim ships its own types, and
      // the stub would otherwise shadow nothing and rot.
      if (rewrite && mapping.from.kind === 'specifier') changes.push(removeStatement(sourceFile, parent));
    }
  }

  function handleImport(declaration: ImportDeclaration, literal: Node): void {
    const clause = declaration.getImportClause();
    const defaultImport = clause?.getDefaultImport();
    const namedBindings = clause?.getNamedBindings();
    const names = [
      ...(defaultImport === undefined ? [] : ['default']),
      ...(namedBindings !== undefined && Node.isNamedImports(namedBindings)
        ? namedBindings.getElements().map((specifier) => specifier.getName())
        : []),
    ];
    const unknown = unmapped(names);
    if (unknown.length > 0) {
      reportUnmapped(declaration, unknown);
      return;
    }
    const defaultShim = shimName('default');
    if (defaultImport !== undefined && defaultShim !== 'default') {
      if (namedBindings !== undefined && Node.isNamespaceImport(namedBindings)) {
        review(
          declaration,
          `default and namespace import together, and the shim's default export is \`${defaultShim}\`: split the import by hand`,
        );
        return;
      }
      const parts = [`${defaultShim} as ${defaultImport.getText()}`];
      if (namedBindings !== undefined && Node.isNamedImports(namedBindings)) {
        parts.push(...namedBindings.getElements().map(renderImportSpecifier));
      }
      if (rewrite) {
        changes.push({
          start: defaultImport.getStart(),
          end: (namedBindings ?? defaultImport).getEnd(),
          text: `{ ${parts.join(', ')} }`,
        });
      }
    } else if (namedBindings !== undefined && Node.isNamedImports(namedBindings)) {
      for (const specifier of namedBindings.getElements()) renameSpecifier(specifier);
    }
    swap(literal);
    if (defaultImport !== undefined) bind(defaultImport.getText(), 'default', declaration);
    if (namedBindings !== undefined && Node.isNamespaceImport(namedBindings)) {
      namespaceLocals.set(namedBindings.getName(), declaration);
    }
    if (namedBindings !== undefined && Node.isNamedImports(namedBindings)) {
      for (const specifier of namedBindings.getElements()) {
        bind(specifier.getAliasNode()?.getText() ?? specifier.getName(), specifier.getName(), declaration);
      }
    }
  }

  function renderImportSpecifier(specifier: ImportSpecifier): string {
    const legacy = specifier.getName();
    const local = specifier.getAliasNode()?.getText() ?? legacy;
    const shim = shimName(legacy);
    const typePrefix = specifier.isTypeOnly() ? 'type ' : '';
    return shim === local ? `${typePrefix}${shim}` : `${typePrefix}${shim} as ${local}`;
  }

  function renameSpecifier(specifier: { getNameNode(): Node; getAliasNode(): Node | undefined }): void {
    const nameNode = specifier.getNameNode();
    const legacy = Node.isStringLiteral(nameNode) ? nameNode.getLiteralText() : nameNode.getText();
    const shim = shimName(legacy);
    if (shim === legacy) return;
    // Keep the local name, so the rest of the file reads the same.
    renameNode(nameNode, specifier.getAliasNode() !== undefined ? shim : `${shim} as ${legacy}`);
  }

  function handleReExport(declaration: ExportDeclaration, literal: Node): void {
    if (declaration.hasNamedExports()) {
      const unknown = unmapped(
        declaration.getNamedExports().map((specifier) => specifier.getNameNode().getText()),
      );
      if (unknown.length > 0) {
        reportUnmapped(declaration, unknown);
        return;
      }
      for (const specifier of declaration.getNamedExports()) renameSpecifier(specifier);
      swap(literal);
      return;
    }
    if (renamed.length > 0) {
      review(
        declaration,
        `\`${declaration.getText()}\` re-exports every name of the legacy module, and the shim names some ` +
          `differently (${describeRenames()}): list the re-exported names by hand`,
      );
      return;
    }
    swap(literal);
  }

  function handleImportEquals(reference: Node, literal: Node): void {
    const declaration = reference.getParentIfKindOrThrow(SyntaxKind.ImportEqualsDeclaration);
    const local = declaration.getName();
    const defaultShim = shimName('default');
    if (defaultShim !== 'default') {
      // `import X = require()` binds module.exports; the shim exports the constructor by name, and
      // TypeScript has no `import X = require().Name`, so the import becomes a named one.
      if (declaration.hasExportKeyword()) {
        review(
          declaration,
          `exported \`import … = require()\` of a module whose export is renamed: rewrite by hand`,
        );
        return;
      }
      const quote = literal.getText()[0] ?? "'";
      const semicolon = declaration.getText().trimEnd().endsWith(';') ? ';' : '';
      renameNode(
        declaration,
        `import { ${defaultShim} as ${local} } from ${quote}${mapping.to}${quote}${semicolon}`,
      );
      bind(local, 'default', declaration);
      return;
    }
    swap(literal);
    namespaceLocals.set(local, declaration);
    commonJsNamespaces.add(local);
    bind(local, 'default', declaration);
  }

  function handleRequire(call: CallExpression, literal: Node): void {
    const outer = outermostParentheses(call);
    const parent = outer.getParent();
    const defaultShim = shimName('default');
    if (parent !== undefined && Node.isPropertyAccessExpression(parent) && parent.getExpression() === outer) {
      const legacy = parent.getName();
      if (unmapped([legacy]).length > 0) {
        reportUnmapped(parent, [legacy]);
        return;
      }
      swap(literal);
      if (shimName(legacy) !== legacy) renameNode(parent.getNameNode(), shimName(legacy));
      const declaration = parent.getParent();
      if (Node.isVariableDeclaration(declaration) && Node.isIdentifier(declaration.getNameNode())) {
        bind(declaration.getName(), legacy, declaration);
      }
      if (legacy === mapping.constructorExport) markDirectCall(parent);
      return;
    }
    const declaration =
      parent !== undefined && Node.isVariableDeclaration(parent) && parent.getInitializer() === outer
        ? parent
        : undefined;
    const name = declaration?.getNameNode();
    if (declaration !== undefined && name !== undefined && Node.isObjectBindingPattern(name)) {
      if (bindDestructured(name, declaration)) swap(literal);
      return;
    }
    swap(literal);
    if (defaultShim !== 'default') {
      // module.exports was the constructor; the shim exports it by name.
      if (rewrite) changes.push({ start: call.getEnd(), end: call.getEnd(), text: `.${defaultShim}` });
    }
    if (declaration !== undefined && name !== undefined && Node.isIdentifier(name)) {
      if (defaultShim === 'default') {
        namespaceLocals.set(name.getText(), declaration);
        commonJsNamespaces.add(name.getText());
      }
      bind(name.getText(), 'default', declaration);
      return;
    }
    if (mapping.constructorExport === 'default') markDirectCall(outer);
  }

  function handleDynamicImport(call: CallExpression, literal: Node): void {
    const awaited = call.getParent();
    const declaration =
      awaited !== undefined && Node.isAwaitExpression(awaited) ? awaited.getParent() : undefined;
    const pattern =
      declaration !== undefined && Node.isVariableDeclaration(declaration)
        ? declaration.getNameNode()
        : undefined;
    if (pattern !== undefined && Node.isObjectBindingPattern(pattern)) {
      if (bindDestructured(pattern, declaration!)) swap(literal);
      return;
    }
    if (renamed.length > 0) {
      review(
        call,
        `dynamic import() of a module whose shim names exports differently (${describeRenames()}): ` +
          `the names used from it cannot be followed; destructure them (\`const { … } = await import()\`) or rewrite by hand`,
      );
      return;
    }
    swap(literal);
  }

  /** Binds and renames `{ a, b: c }` taken from the module; false (and reported) when a name is unmapped. */
  function bindDestructured(pattern: Node, declaration: Node): boolean {
    if (!Node.isObjectBindingPattern(pattern)) return true;
    const unknown = unmapped(
      pattern.getElements().map((element) => element.getPropertyNameNode()?.getText() ?? element.getName()),
    );
    if (unknown.length > 0) {
      reportUnmapped(declaration, unknown);
      return false;
    }
    for (const element of pattern.getElements()) {
      const nameNode = element.getNameNode();
      if (!Node.isIdentifier(nameNode)) continue;
      bind(nameNode.getText(), element.getPropertyNameNode()?.getText() ?? nameNode.getText(), declaration);
    }
    for (const element of pattern.getElements()) {
      const nameNode = element.getNameNode();
      if (!Node.isIdentifier(nameNode)) continue;
      const propertyNode = element.getPropertyNameNode();
      const legacy = propertyNode !== undefined ? propertyNode.getText() : nameNode.getText();
      const shim = shimName(legacy);
      if (shim !== legacy) {
        if (propertyNode !== undefined) renameNode(propertyNode, shim);
        else renameNode(nameNode, `${shim}: ${nameNode.getText()}`);
      }
    }
    return true;
  }

  function markDirectCall(callee: Node): void {
    const call = callee.getParent();
    if (
      call !== undefined &&
      (Node.isCallExpression(call) || Node.isNewExpression(call)) &&
      call.getExpression() === callee
    ) {
      directConstructorCalls.add(call);
      handleConstructorCall(call);
    }
  }

  // Options are fixed once every constructor call is known: whether a `const` spread into them may be
  // edited depends on all its uses being such calls.
  function handleConstructorCall(call: CallExpression | NewExpression): void {
    result.constructorCalls.push({ call, options: resolveObjectLiteral(call.getArguments()[0]) });
  }

  function fixConstructorOptions(): void {
    const optionsContext = optionsRewriteContext(
      mapping,
      review,
      result.constructorCalls.map(({ call }) => call),
    );
    for (const { call } of result.constructorCalls) {
      changes.push(...rewriteOptionsArgument(call, optionsContext));
    }
  }

  if (constructorLocals.size > 0 || namespaceLocals.size > 0) {
    const calls = [
      ...descendantsOfKind(sourceFile, SyntaxKind.CallExpression),
      ...descendantsOfKind(sourceFile, SyntaxKind.NewExpression),
    ];
    for (const call of calls) {
      if (directConstructorCalls.has(call)) continue;
      const callee = call.getExpression();
      if (isConstructorReference(callee)) handleConstructorCall(call);
    }
    if ((renamed.length > 0 || hasExportMap) && namespaceLocals.size > 0) {
      const onNamespace = (node: ts.Node): boolean => {
        const target = (node as ts.PropertyAccessExpression).expression;
        return ts.isIdentifier(target) && namespaceLocals.has(ts.idText(target));
      };
      for (const access of descendantsOfKind(sourceFile, SyntaxKind.PropertyAccessExpression, onNamespace)) {
        const target = access.getExpression();
        if (!Node.isIdentifier(target)) continue;
        const binding = namespaceLocals.get(target.getText());
        if (binding === undefined || isShadowed(access, target.getText(), binding)) continue;
        const legacy = access.getName();
        if (unmapped([legacy]).length > 0) {
          review(
            access,
            `\`${access.getText()}\` is not in the export mapping of ${mapping.name}; the shim may not have it`,
          );
          continue;
        }
        const shim = shimName(legacy);
        if (shim === legacy) continue;
        if (shim === 'default' && commonJsNamespaces.has(target.getText()))
          renameNode(access, target.getText());
        else renameNode(access.getNameNode(), shim);
      }
    }
  }

  function isConstructorReference(callee: Node): boolean {
    const expression = Node.isParenthesizedExpression(callee) ? callee.getExpression() : callee;
    if (Node.isIdentifier(expression)) {
      const binding = constructorLocals.get(expression.getText());
      return binding !== undefined && !isShadowed(expression, expression.getText(), binding);
    }
    if (Node.isPropertyAccessExpression(expression)) {
      const target = expression.getExpression();
      if (!Node.isIdentifier(target)) return false;
      const binding = namespaceLocals.get(target.getText());
      if (binding === undefined || isShadowed(expression, target.getText(), binding)) return false;
      return expression.getName() === mapping.constructorExport;
    }
    return false;
  }

  if (rewrite) fixConstructorOptions();
  return result;
}

function outermostParentheses(node: Node): Node {
  let current = node;
  for (let parent = current.getParent(); parent !== undefined && Node.isParenthesizedExpression(parent);) {
    current = parent;
    parent = current.getParent();
  }
  return current;
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
