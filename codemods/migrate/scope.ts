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
    if (declarationIn(scope, name, binding) !== undefined) return true;
    if (Node.isSourceFile(scope)) return false;
  }
  return false;
}

/**
 * The node that declares `name` as seen from `reference`: the nearest enclosing scope's
 * `VariableDeclaration`, parameter, function, class, import or catch variable. Undefined when no
 * scope of the file declares it (a global, or a construct the walk does not know); the same lexical
 * limits as {@link isShadowed} apply.
 */
export function findDeclaration(reference: Node, name: string): Node | undefined {
  for (let scope = reference.getParent(); scope !== undefined; scope = scope.getParent()) {
    const declaration = declarationIn(scope, name, undefined);
    if (declaration !== undefined) return declaration;
    if (Node.isSourceFile(scope)) return undefined;
  }
  return undefined;
}

/** What in `scope` itself declares `name`, skipping the statement that holds `binding`. */
function declarationIn(scope: Node, name: string, binding: Node | undefined): Node | undefined {
  const isBinding = (node: Node): boolean =>
    binding !== undefined && node.getStart() <= binding.getStart() && binding.getEnd() <= node.getEnd();

  if (
    Node.isFunctionDeclaration(scope) ||
    Node.isFunctionExpression(scope) ||
    Node.isArrowFunction(scope) ||
    Node.isMethodDeclaration(scope) ||
    Node.isConstructorDeclaration(scope) ||
    Node.isGetAccessorDeclaration(scope) ||
    Node.isSetAccessorDeclaration(scope)
  ) {
    const parameter = scope
      .getParameters()
      .find((candidate) => bindingNames(candidate.getNameNode()).includes(name));
    if (parameter !== undefined) return parameter;
    if (Node.isFunctionExpression(scope) && scope.getName() === name) return scope;
    return undefined;
  }
  if (Node.isCatchClause(scope)) {
    const declaration = scope.getVariableDeclaration();
    return declaration !== undefined && bindingNames(declaration.getNameNode()).includes(name)
      ? declaration
      : undefined;
  }
  if (Node.isForStatement(scope) || Node.isForOfStatement(scope) || Node.isForInStatement(scope)) {
    const initializer = scope.getInitializer();
    if (initializer !== undefined && Node.isVariableDeclarationList(initializer)) {
      return initializer
        .getDeclarations()
        .find(
          (declaration) => !isBinding(declaration) && bindingNames(declaration.getNameNode()).includes(name),
        );
    }
    return undefined;
  }
  if (
    Node.isBlock(scope) ||
    Node.isSourceFile(scope) ||
    Node.isModuleBlock(scope) ||
    Node.isCaseClause(scope)
  ) {
    for (const entry of blockDeclarations(scope).get(name) ?? []) {
      if (!isBinding(entry.statement)) return entry.declaration;
    }
  }
  return undefined;
}

interface BlockDeclaration {
  statement: Node;
  declaration: Node;
}

// Per block, what its statements declare, by name, in statement order: built once, so a lookup is
// not a pass over every statement of the file (which made a file's work grow with its square).
const blockIndexes = new WeakMap<object, Map<string, BlockDeclaration[]>>();

function blockDeclarations(scope: Node & { getStatements(): Node[] }): Map<string, BlockDeclaration[]> {
  let index = blockIndexes.get(scope.compilerNode);
  if (index !== undefined) return index;
  const names = new Map<string, BlockDeclaration[]>();
  const add = (name: string | undefined, statement: Node, declaration: Node): void => {
    if (name === undefined) return;
    const list = names.get(name);
    if (list === undefined) names.set(name, [{ statement, declaration }]);
    else list.push({ statement, declaration });
  };
  for (const statement of scope.getStatements()) {
    if (Node.isVariableStatement(statement)) {
      for (const declaration of statement.getDeclarations()) {
        for (const name of bindingNames(declaration.getNameNode())) add(name, statement, declaration);
      }
    } else if (Node.isFunctionDeclaration(statement) || Node.isClassDeclaration(statement)) {
      add(statement.getName(), statement, statement);
    } else if (Node.isImportDeclaration(statement)) {
      add(statement.getDefaultImport()?.getText(), statement, statement);
      add(statement.getNamespaceImport()?.getText(), statement, statement);
      for (const specifier of statement.getNamedImports()) add(localName(specifier), statement, statement);
    } else if (Node.isImportEqualsDeclaration(statement)) {
      add(statement.getName(), statement, statement);
    }
  }
  index = names;
  blockIndexes.set(scope.compilerNode, index);
  return index;
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
