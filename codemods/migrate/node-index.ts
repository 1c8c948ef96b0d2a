import { ts, type KindToNodeMappings, type Node, type SourceFile, type SyntaxKind } from 'ts-morph';

/**
 * The compiler nodes of one parsed file, grouped by kind, built in one pass. ts-morph's
 * `getDescendantsOfKind` walks the whole tree again on every call through `getChildren()`, which
 * re-scans every token; the transforms ask for string literals, calls, property accesses, variable
 * declarations and identifiers, some once per constructor call or per spread, which made the work
 * per file grow with (calls × file size). Here the tree is walked once per file, with
 * `forEachChild` (no tokens), and only the nodes a caller keeps are wrapped.
 */
interface NodeIndex {
  byKind: Map<ts.SyntaxKind, ts.Node[]>;
  identifiersByName: Map<string, ts.Identifier[]> | undefined;
}

// Keyed by the compiler's SourceFile: a file re-created in the project gets a fresh index.
const indexes = new WeakMap<ts.SourceFile, NodeIndex>();

function indexOf(sourceFile: SourceFile): NodeIndex {
  const root = sourceFile.compilerNode;
  let index = indexes.get(root);
  if (index !== undefined) return index;
  const byKind = new Map<ts.SyntaxKind, ts.Node[]>();
  // An explicit stack: generated files nest deeper than the call stack allows.
  const stack: ts.Node[] = [root];
  const children: ts.Node[] = [];
  const collect = (child: ts.Node): void => void children.push(child);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node !== root) {
      const list = byKind.get(node.kind);
      if (list === undefined) byKind.set(node.kind, [node]);
      else list.push(node);
    }
    children.length = 0;
    // JSDoc holds `import('x')` types in JavaScript files; getChildren() visits it, forEachChild not.
    const jsDoc = (node as { jsDoc?: ts.Node[] }).jsDoc;
    if (jsDoc !== undefined) children.push(...jsDoc);
    ts.forEachChild(node, collect);
    for (let at = children.length - 1; at >= 0; at--) stack.push(children[at]!);
  }
  index = { byKind, identifiersByName: undefined };
  indexes.set(root, index);
  return index;
}

type Wrapping = { _getNodeFromCompilerNode(node: ts.Node): Node };

/**
 * The descendants of `kind` in document order, like `sourceFile.getDescendantsOfKind(kind)`, from the
 * file's one-pass index. `keep`, when given, filters on the compiler node before it is wrapped.
 */
export function descendantsOfKind<TKind extends SyntaxKind>(
  sourceFile: SourceFile,
  kind: TKind,
  keep?: (node: ts.Node) => boolean,
): KindToNodeMappings[TKind][] {
  const nodes = indexOf(sourceFile).byKind.get(kind as unknown as ts.SyntaxKind) ?? [];
  const wrapper = sourceFile as unknown as Wrapping;
  const kept: KindToNodeMappings[TKind][] = [];
  for (const node of nodes) {
    if (keep === undefined || keep(node))
      kept.push(wrapper._getNodeFromCompilerNode(node) as KindToNodeMappings[TKind]);
  }
  return kept;
}

/** The identifiers of the file whose name is `name` (escapes decoded), in document order. */
export function identifiersNamed(sourceFile: SourceFile, name: string): Node[] {
  const index = indexOf(sourceFile);
  if (index.identifiersByName === undefined) {
    index.identifiersByName = new Map();
    for (const node of index.byKind.get(ts.SyntaxKind.Identifier) ?? []) {
      const identifier = node as ts.Identifier;
      const text = ts.idText(identifier);
      const list = index.identifiersByName.get(text);
      if (list === undefined) index.identifiersByName.set(text, [identifier]);
      else list.push(identifier);
    }
  }
  const wrapper = sourceFile as unknown as Wrapping;
  return (index.identifiersByName.get(name) ?? []).map((node) => wrapper._getNodeFromCompilerNode(node));
}
