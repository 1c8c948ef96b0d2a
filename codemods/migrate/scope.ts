import { Node, type BindingName } from 'ts-morph';

/**
 * True when `name`, as used at `reference`, is declared again in a scope between the reference and
 * the file, so it does not refer to `binding` (the import or `require` that made it).
 *
 * A lexical walk instead of the type checker: asking the checker would build a program per file,
 * which costs more than the whole rewrite. It covers parameters, `var/let/const`, functions,
 * classes, imports, loop and catch variables; a name shadowed by some other construct (an `eval`,
 * a `with`) is not seen, and call sites there are left to the lint and the reviewer.
 */
export function isShadowed(reference: Node, name: string, binding: Node): boolean {
  for (let scope = reference.getParent(); scope !== undefined; scope = scope.getParent()) {
    if (declaresName(scope, name, binding)) return true;
    if (Node.isSourceFile(scope)) return false;
  }
  return false;
}

function declaresName(scope: Node, name: string, binding: Node): boolean {
  const isBinding = (node: Node): boolean =>
    node.getStart() <= binding.getStart() && binding.getEnd() <= node.getEnd();

  if (
    Node.isFunctionDeclaration(scope) ||
    Node.isFunctionExpression(scope) ||
    Node.isArrowFunction(scope) ||
    Node.isMethodDeclaration(scope) ||
    Node.isConstructorDeclaration(scope) ||
    Node.isGetAccessorDeclaration(scope) ||
    Node.isSetAccessorDeclaration(scope)
  ) {
    if (scope.getParameters().some((parameter) => bindingNames(parameter.getNameNode()).includes(name))) {
      return true;
    }
    if (Node.isFunctionExpression(scope) && scope.getName() === name) return true;
    return false;
  }
  if (Node.isCatchClause(scope)) {
    const declaration = scope.getVariableDeclaration();
    return declaration !== undefined && bindingNames(declaration.getNameNode()).includes(name);
  }
  if (Node.isForStatement(scope) || Node.isForOfStatement(scope) || Node.isForInStatement(scope)) {
    const initializer = scope.getInitializer();
    if (initializer !== undefined && Node.isVariableDeclarationList(initializer)) {
      return initializer
        .getDeclarations()
        .some(
          (declaration) => !isBinding(declaration) && bindingNames(declaration.getNameNode()).includes(name),
        );
    }
    return false;
  }
  if (
    Node.isBlock(scope) ||
    Node.isSourceFile(scope) ||
    Node.isModuleBlock(scope) ||
    Node.isCaseClause(scope)
  ) {
    for (const statement of scope.getStatements()) {
      if (isBinding(statement)) continue;
      if (Node.isVariableStatement(statement)) {
        for (const declaration of statement.getDeclarations()) {
          if (bindingNames(declaration.getNameNode()).includes(name)) return true;
        }
      } else if (Node.isFunctionDeclaration(statement) || Node.isClassDeclaration(statement)) {
        if (statement.getName() === name) return true;
      } else if (Node.isImportDeclaration(statement)) {
        if (statement.getDefaultImport()?.getText() === name) return true;
        if (statement.getNamespaceImport()?.getText() === name) return true;
        if (statement.getNamedImports().some((specifier) => localName(specifier) === name)) return true;
      } else if (Node.isImportEqualsDeclaration(statement)) {
        if (statement.getName() === name) return true;
      }
    }
  }
  return false;
}

function localName(specifier: { getAliasNode(): Node | undefined; getName(): string }): string {
  return specifier.getAliasNode()?.getText() ?? specifier.getName();
}

/** Every identifier a binding name (`a`, `{ a, b: [c] }`) declares. */
export function bindingNames(name: BindingName): string[] {
  if (Node.isIdentifier(name)) return [name.getText()];
  const names: string[] = [];
  for (const element of name.getElements()) {
    if (Node.isOmittedExpression(element)) continue;
    names.push(...bindingNames(element.getNameNode()));
  }
  return names;
}
