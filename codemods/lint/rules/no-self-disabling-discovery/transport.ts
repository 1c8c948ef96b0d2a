/**
 * A socket of an error-first transport library (`zeromq.socket('router')`) bound with a callback
 * that takes no error: `socket.bind(endpoint, () => resolve())`. A failed bind (port taken, bad
 * address) resolves start-up, and peers are told of an endpoint nobody listens on. Whether the
 * socket is discovery's is read from its surroundings: the class around it (or the file, outside a
 * class) holds a list of peers.
 */
import { ts } from '../../../syntax/index.js';
import { keyOf } from './context.js';
import { mentions } from './handler.js';
import { errorFirstTransportMethods, requiredSpecifier, skipWrappers } from './modules.js';
import { namesPeerList } from './names.js';

/** What the check found: the module, and the callback's unread error name if it declares one. */
export interface DroppedTransportError {
  readonly module: string;
  readonly errorName: string | undefined;
}

/** Per file: socket keys (`this._socket`, `sock`) made from an error-first transport, to its specifier. */
const socketsByFile = new WeakMap<ts.SourceFile, ReadonlyMap<string, string>>();

/**
 * Reads `call`: `<socket>.bind(address, callback)` on a socket of an error-first transport whose
 * inline callback never reads an error, in a class or file that holds peers.
 */
export function dropsTransportError(
  call: ts.CallExpression,
  callback: ts.ArrowFunction | ts.FunctionExpression,
  sourceFile: ts.SourceFile,
): DroppedTransportError | undefined {
  const callee = skipWrappers(call.expression);
  if (!ts.isPropertyAccessExpression(callee)) return undefined;
  const sockets = transportSockets(sourceFile);
  if (sockets.size === 0) return undefined;
  const key = keyOf(callee.expression);
  const module = key === undefined ? undefined : sockets.get(key);
  if (module === undefined || !errorFirstTransportMethods(module)?.has(callee.name.text)) return undefined;
  const [first] = callback.parameters;
  const errorName = first && ts.isIdentifier(first.name) ? first.name.text : undefined;
  if (first && (errorName === undefined || mentions(callback.body, errorName))) return undefined;
  if (!holdsPeers(ts.findAncestor(call, ts.isClassLike) ?? sourceFile)) return undefined;
  return { module, errorName };
}

/** Sockets made from an error-first transport module, found once per file. */
function transportSockets(sourceFile: ts.SourceFile): ReadonlyMap<string, string> {
  const cached = socketsByFile.get(sourceFile);
  if (cached) return cached;
  const sockets = new Map<string, string>();
  if (/['"](zeromq|zmq)['"]/.test(sourceFile.text)) {
    const modules = new Map<string, string>();
    const made = (initializer: ts.Expression): string | undefined => {
      let expression = skipWrappers(initializer);
      if (!ts.isCallExpression(expression) && !ts.isNewExpression(expression)) return undefined;
      expression = skipWrappers(expression.expression);
      while (ts.isPropertyAccessExpression(expression)) expression = skipWrappers(expression.expression);
      return ts.isIdentifier(expression) ? modules.get(expression.text) : undefined;
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        const specifier = node.moduleSpecifier.text;
        const clause = node.importClause;
        const named = clause?.namedBindings;
        if (errorFirstTransportMethods(specifier)) {
          if (clause?.name) modules.set(clause.name.text, specifier);
          if (named && ts.isNamespaceImport(named)) modules.set(named.name.text, specifier);
        }
      } else if (ts.isVariableDeclaration(node) && node.initializer && ts.isIdentifier(node.name)) {
        const specifier = requiredSpecifier(node.initializer);
        if (specifier !== undefined && errorFirstTransportMethods(specifier))
          modules.set(node.name.text, specifier);
        const module = made(node.initializer);
        if (module !== undefined) sockets.set(node.name.text, module);
      } else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
        const module = made(node.right);
        const key = module === undefined ? undefined : keyOf(node.left);
        if (module !== undefined && key !== undefined) sockets.set(key, module);
      }
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
  }
  socketsByFile.set(sourceFile, sockets);
  return sockets;
}

/** True when `root` names a list of peers anywhere (`this._peers`, `zyrePeers`, `members`). */
function holdsPeers(root: ts.Node): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isIdentifier(node) && namesPeerList(node.text)) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(root);
  return found;
}
