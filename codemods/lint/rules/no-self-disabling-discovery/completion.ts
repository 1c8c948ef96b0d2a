/**
 * A completion callback passed by method reference from a method that announces this node's
 * service: `announce() { this.emit('announce-request', packet, this.onAnnounced.bind(this)) }`
 * with `onAnnounced() { this.published = true; this.emit('up') }`. The send behind it calls back
 * with its error; a method that takes no parameter cannot see it, so a failed announcement is
 * marked published. The method is resolved in the same class or object literal, without types.
 */
import { ts } from '../../../syntax/index.js';
import { chainNames, nearestNamedFunction, type DiscoveryContext } from './context.js';
import { skipWrappers, withoutBind } from './modules.js';
import { splitWords } from './names.js';

/** The method found, where it is declared, and the method that hands it on. */
export interface ParameterlessCompletion {
  readonly name: string;
  /** The member that declares it (`onAnnounced: function () {…}`, `onAnnounced() {…}`): the finding's site. */
  readonly declaration: ts.Node;
  /** The announcing method the reference is passed from. */
  readonly from: string;
}

/** Words of a method that puts this node's service on the wire: an announcement, an advertisement, a probe. */
const ANNOUNCING_WORDS = new Set([
  'announce',
  'announcement',
  'reannounce',
  'advertise',
  'advertising',
  'advertisement',
  'readvertise',
  'probe',
]);

/**
 * Callees whose last argument is not a completion callback: listener registration, promise
 * reactions, timers (a timer's callback takes nothing by design).
 */
const NOT_COMPLETIONS =
  /^(on|once|addListener|prependListener|prependOnceListener|off|removeListener|then|catch|finally|setTimeout|setInterval|setImmediate|nextTick|queueMicrotask)$/;

/**
 * Reads `call`: when its last argument is `this.m` or `this.m.bind(this, …)`, the call sits in an
 * announcing method of a file that advertises a service (it names a DNS-SD service type) or is made
 * on a discovery object, and `m` is a method of the same class or object literal that declares no
 * parameter, returns that method.
 */
export function parameterlessCompletion(
  call: ts.CallExpression,
  context: DiscoveryContext,
): ParameterlessCompletion | undefined {
  const last = call.arguments[call.arguments.length - 1];
  if (!last) return undefined;
  const callee = skipWrappers(call.expression);
  const names = chainNames(callee);
  if (NOT_COMPLETIONS.test(names[names.length - 1] ?? '')) return undefined;
  const referenced = methodReference(last);
  if (referenced === undefined) return undefined;
  const named = nearestNamedFunction(call);
  if (!named || !splitWords(named.name).some((word) => ANNOUNCING_WORDS.has(word))) return undefined;
  const { declaration: announcing, name: from } = named;
  const onDiscoveryObject =
    ts.isPropertyAccessExpression(callee) && context.isDiscoveryObject(callee.expression);
  if (!context.namesServiceType && !onDiscoveryObject) return undefined;
  const target = siblingMethod(announcing, referenced, context, call);
  if (!target || !target.fn.body || target.fn.parameters.length > 0) return undefined;
  return { name: referenced, declaration: target.declaration, from };
}

/** `this.m` or `this.m.bind(this, …)` → `m`. */
function methodReference(argument: ts.Expression): string | undefined {
  const expression = withoutBind(argument);
  if (!ts.isPropertyAccessExpression(expression)) return undefined;
  if (expression.expression.kind !== ts.SyntaxKind.ThisKeyword) return undefined;
  return ts.isIdentifier(expression.name) ? expression.name.text : undefined;
}

/**
 * The method `name` of the class, or of the object literal, that `method` belongs to. Only these
 * two owners: elsewhere `this` is not known without types.
 */
function siblingMethod(
  method: ts.FunctionLikeDeclaration,
  name: string,
  context: DiscoveryContext,
  site: ts.Node,
): { fn: ts.FunctionLikeDeclaration; declaration: ts.Node } | undefined {
  const member = ts.isMethodDeclaration(method) ? method : method.parent;
  const owner = member.parent;
  if (ts.isClassLike(owner)) {
    const fn = context.localFunction(name, site, true);
    return fn ? { fn, declaration: ts.isMethodDeclaration(fn) ? fn : fn.parent } : undefined;
  }
  if (!ts.isObjectLiteralExpression(owner)) return undefined;
  for (const property of owner.properties) {
    if (!property.name || !ts.isIdentifier(property.name) || property.name.text !== name) continue;
    if (ts.isMethodDeclaration(property)) return { fn: property, declaration: property };
    if (ts.isPropertyAssignment(property)) {
      const initializer = skipWrappers(property.initializer);
      if (ts.isFunctionExpression(initializer) || ts.isArrowFunction(initializer))
        return { fn: initializer, declaration: property };
    }
  }
  return undefined;
}
