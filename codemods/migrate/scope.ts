import type { Node } from 'ts-morph';
import {
  findDeclaration as findCompilerDeclaration,
  isShadowed as isCompilerNameShadowed,
} from '../syntax/index.js';

/**
 * The migrate codemod's view of the shared lexical scope walk (`codemods/syntax/scope.ts`, which
 * the lint uses too) on ts-morph nodes. The walk itself, and its limits, are written there.
 */

/**
 * True when `name`, as used at `reference`, is declared again in a scope between the reference and
 * the file, so it does not refer to `binding` (the import or `require` that made it).
 */
export function isShadowed(reference: Node, name: string, binding: Node): boolean {
  return isCompilerNameShadowed(reference.compilerNode, name, binding.compilerNode);
}

/**
 * The node that declares `name` as seen from `reference`: the nearest enclosing scope's
 * `VariableDeclaration`, parameter, function, class, import or catch variable. Undefined when no
 * scope of the file declares it (a global, or a construct the walk does not know).
 */
export function findDeclaration(reference: Node, name: string): Node | undefined {
  const declaration = findCompilerDeclaration(reference.compilerNode, name);
  if (declaration === undefined) return undefined;
  // The declaration encloses a scope of the reference or sits in one, so it is an ancestor of the
  // first token it starts with: walk up from there to ts-morph's wrapper of the same node.
  const token = reference.getSourceFile().getDescendantAtPos(declaration.getStart());
  for (let node: Node | undefined = token; node !== undefined; node = node.getParent()) {
    if (node.compilerNode === declaration) return node;
  }
  return undefined;
}
