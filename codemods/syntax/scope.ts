/**
 * Lexical scope resolution on raw compiler nodes, shared by the lint (which reads compiler nodes
 * directly) and the migrate codemod (which passes `node.compilerNode` of its ts-morph nodes).
 *
 * A lexical walk instead of the type checker: asking the checker would build a program per file,
 * which costs more than the whole lint or rewrite of that file. It covers parameters,
 * `var/let/const`, functions, classes, imports, loop and catch variables; a name declared by some
 * other construct (an `eval`, a `with`, a `var` hoisted out of a nested block) is not seen.
 */
import { ts } from './typescript.js';

/**
 * The node that declares `name` as seen from `reference`: the nearest enclosing scope's
 * `VariableDeclaration`, parameter, function, class, import or catch variable. Undefined when no
 * scope of the file declares it (a global, or a construct the walk does not know).
 */
export function findDeclaration(reference: ts.Node, name: string): ts.Node | undefined {
  for (let scope = reference.parent; scope !== undefined; scope = scope.parent) {
    const declaration = declarationIn(scope, name, undefined);
    if (declaration !== undefined) return declaration;
    if (ts.isSourceFile(scope)) return undefined;
  }
  return undefined;
}

/**
 * True when `name`, as used at `reference`, is declared again in a scope between the reference and
 * the file, so it does not refer to `binding` (the import, `require` or declaration that made it).
 * The same lexical limits as {@link findDeclaration} apply.
 */
export function isShadowed(reference: ts.Node, name: string, binding: ts.Node): boolean {
  for (let scope = reference.parent; scope !== undefined; scope = scope.parent) {
    if (declarationIn(scope, name, binding) !== undefined) return true;
    if (ts.isSourceFile(scope)) return false;
  }
  return false;
}

/**
 * The function `name` refers to at `reference`, when the nearest declaration of it is a function
 * declaration with a body or a variable initialised with a function or arrow function.
 */
export function findDeclaredFunction(
  reference: ts.Node,
  name: string,
): ts.FunctionLikeDeclaration | undefined {
  const declaration = findDeclaration(reference, name);
  if (declaration === undefined) return undefined;
  if (ts.isFunctionDeclaration(declaration)) return declaration.body ? declaration : undefined;
  if (ts.isVariableDeclaration(declaration) && declaration.initializer !== undefined) {
    const initializer = declaration.initializer;
    if (ts.isArrowFunction(initializer) || ts.isFunctionExpression(initializer)) return initializer;
  }
  return undefined;
}

/** Every identifier a binding name (`a`, `{ a, b: [c] }`) declares. */
export function bindingNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  const names: string[] = [];
  for (const element of name.elements) {
    if (ts.isOmittedExpression(element)) continue;
    names.push(...bindingNames(element.name));
  }
  return names;
}

/** What in `scope` itself declares `name`, skipping the statement that holds `binding`. */
function declarationIn(scope: ts.Node, name: string, binding: ts.Node | undefined): ts.Node | undefined {
  const isBinding = (node: ts.Node): boolean =>
    binding !== undefined && ts.findAncestor(binding, (ancestor) => ancestor === node) !== undefined;

  if (
    ts.isFunctionDeclaration(scope) ||
    ts.isFunctionExpression(scope) ||
    ts.isArrowFunction(scope) ||
    ts.isMethodDeclaration(scope) ||
    ts.isConstructorDeclaration(scope) ||
    ts.isGetAccessorDeclaration(scope) ||
    ts.isSetAccessorDeclaration(scope)
  ) {
    const parameter = scope.parameters.find((candidate) => bindingNames(candidate.name).includes(name));
    if (parameter !== undefined) return parameter;
    if (ts.isFunctionExpression(scope) && scope.name?.text === name) return scope;
    return undefined;
  }
  if (ts.isCatchClause(scope)) {
    const declaration = scope.variableDeclaration;
    return declaration !== undefined && bindingNames(declaration.name).includes(name)
      ? declaration
      : undefined;
  }
  if (ts.isForStatement(scope) || ts.isForOfStatement(scope) || ts.isForInStatement(scope)) {
    const initializer = scope.initializer;
    if (initializer !== undefined && ts.isVariableDeclarationList(initializer)) {
      return initializer.declarations.find(
        (declaration) => !isBinding(declaration) && bindingNames(declaration.name).includes(name),
      );
    }
    return undefined;
  }
  if (ts.isBlock(scope) || ts.isSourceFile(scope) || ts.isModuleBlock(scope) || ts.isCaseClause(scope)) {
    for (const entry of blockDeclarations(scope).get(name) ?? []) {
      if (!isBinding(entry.statement)) return entry.declaration;
    }
  }
  return undefined;
}

interface BlockDeclaration {
  statement: ts.Node;
  declaration: ts.Node;
}

// Per block, what its statements declare, by name, in statement order: built once, so a lookup is
// not a pass over every statement of the file (which made a file's work grow with its square).
const blockIndexes = new WeakMap<ts.Node, Map<string, BlockDeclaration[]>>();

function blockDeclarations(
  scope: ts.Block | ts.SourceFile | ts.ModuleBlock | ts.CaseClause,
): Map<string, BlockDeclaration[]> {
  let index = blockIndexes.get(scope);
  if (index !== undefined) return index;
  const names = new Map<string, BlockDeclaration[]>();
  const add = (name: string | undefined, statement: ts.Node, declaration: ts.Node): void => {
    if (name === undefined) return;
    const list = names.get(name);
    if (list === undefined) names.set(name, [{ statement, declaration }]);
    else list.push({ statement, declaration });
  };
  for (const statement of scope.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        for (const name of bindingNames(declaration.name)) add(name, statement, declaration);
      }
    } else if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) {
      add(statement.name?.text, statement, statement);
    } else if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      add(clause?.name?.text, statement, statement);
      const named = clause?.namedBindings;
      if (named !== undefined && ts.isNamespaceImport(named)) add(named.name.text, statement, statement);
      if (named !== undefined && ts.isNamedImports(named)) {
        // `name` is the local name: `propertyName` holds the exported one of `{ a as b }`.
        for (const specifier of named.elements) add(specifier.name.text, statement, statement);
      }
    } else if (ts.isImportEqualsDeclaration(statement)) {
      add(statement.name.text, statement, statement);
    }
  }
  index = names;
  blockIndexes.set(scope, index);
  return index;
}
