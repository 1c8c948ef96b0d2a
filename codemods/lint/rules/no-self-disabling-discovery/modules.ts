import { findDeclaration, skipWrappers, ts } from '../../../syntax/index.js';

export { skipWrappers };

/** `f.bind(this, …)` → `f` (wrappers skipped); anything else with its wrappers skipped. */
export function withoutBind(node: ts.Expression): ts.Expression {
  const expression = skipWrappers(node);
  if (
    ts.isCallExpression(expression) &&
    ts.isPropertyAccessExpression(expression.expression) &&
    expression.expression.name.text === 'bind'
  ) {
    return skipWrappers(expression.expression.expression);
  }
  return expression;
}

/** What a legacy module is, for the purposes of this rule. */
export interface DiscoveryModule {
  /** The module specifier as written in the package registry (`node-discover`). */
  readonly name: string;
  /**
   * `dgram` sockets are discovery only when the file uses them for multicast/broadcast or peer
   * traffic (a statsd client is a dgram socket too); `membership` libraries always are.
   */
  readonly kind: 'dgram' | 'membership';
  /** Whether its start callback is error-first (`(err) => …`), so a callback without one ignores failures. */
  readonly errorFirstStart: boolean;
}

const MODULES: readonly DiscoveryModule[] = [
  { name: 'dgram', kind: 'dgram', errorFirstStart: false },
  { name: 'node-discover', kind: 'membership', errorFirstStart: true },
  { name: 'swim', kind: 'membership', errorFirstStart: true },
  { name: 'ringpop', kind: 'membership', errorFirstStart: true },
  { name: 'mdns', kind: 'membership', errorFirstStart: false },
  { name: 'mdns-js', kind: 'membership', errorFirstStart: false },
  { name: 'multicast-dns', kind: 'membership', errorFirstStart: false },
  { name: 'bonjour', kind: 'membership', errorFirstStart: false },
  { name: 'bonjour-service', kind: 'membership', errorFirstStart: false },
  { name: 'dnssd', kind: 'membership', errorFirstStart: false },
  { name: 'polo', kind: 'membership', errorFirstStart: false },
  { name: 'node-ssdp', kind: 'membership', errorFirstStart: false },
  { name: 'dns-discovery', kind: 'membership', errorFirstStart: false },
  { name: 'discovery-swarm', kind: 'membership', errorFirstStart: false },
  { name: 'scuttlebutt', kind: 'membership', errorFirstStart: false },
  { name: 'gossipmonger', kind: 'membership', errorFirstStart: false },
  { name: 'cote', kind: 'membership', errorFirstStart: false },
];

/** The discovery module a specifier names (`node:dgram`, `ringpop/lib/x` included), if any. */
export function discoveryModuleOf(specifier: string): DiscoveryModule | undefined {
  const bare = specifier.startsWith('node:') ? specifier.slice('node:'.length) : specifier;
  const known = MODULES.find((module) => bare === module.name || bare.startsWith(`${module.name}/`));
  if (known !== undefined) return known;
  // A scoped or forked package of the same protocol (`@homebridge/ciao`, `mdns-fork`,
  // `@acme/gossip-members`): its name says what it does on the wire.
  const packageName = bare.startsWith('@') ? bare.split('/').slice(0, 2).join('/') : bare.split('/')[0]!;
  return PROTOCOL_PACKAGE.test(packageName)
    ? { name: packageName, kind: 'membership', errorFirstStart: false }
    : undefined;
}

/**
 * Package names whose words name a discovery protocol or a peer directory: mDNS, DNS-SD, SSDP,
 * multicast, UDP broadcast (`dgram-broadcast`; a bare `broadcast-channel` is browser tab messaging),
 * gossip, SWIM, a DHT, a coordination service.
 */
const PROTOCOL_PACKAGE =
  /(^|[-_./@])(mdns|bonjour|zeroconf|dnssd|ssdp|multicast|(dgram|udp)[-_]broadcast|broadcast[-_](dgram|udp)|gossip|swim|ringpop|ciao|avahi|memberlist|scuttlebutt|dht|kademlia|zookeeper|etcd3?|consul|eureka|nacos)([-_./]|$)/i;

/**
 * Modules whose "discovery" is of an identity provider, not of peers: `Issuer.discover()` in
 * openid-client, `discovery()` in its v6 and in oauth4webapi.
 */
const NON_PEER_MODULES =
  /^(openid-client|oidc-client|oidc-client-ts|oauth4webapi|oidc-provider|@azure\/msal-[\w-]+|passport-[\w-]+|next-auth|@auth\/[\w-]+)(\/|$)/;

/**
 * Transport libraries whose socket methods call back error-first, unlike dgram's `bind` (a
 * 'listening' callback) or net's `listen`: zeromq 5 and the older zmq bind asynchronously and call
 * `bind(address, (err) => …)` with the failure. They are not discovery; a file that uses one for
 * peer traffic is (see `transport.ts`). zeromq 6 returns a promise and takes no callback.
 */
const ERROR_FIRST_TRANSPORTS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['zeromq', new Set(['bind', 'unbind'])],
  ['zmq', new Set(['bind', 'unbind'])],
]);

/** The methods of a transport module (`zeromq`) whose callbacks are error-first, if it is one. */
export function errorFirstTransportMethods(specifier: string): ReadonlySet<string> | undefined {
  return ERROR_FIRST_TRANSPORTS.get(specifier);
}

/** A local name bound to a discovery module or one of its exports. */
export interface ModuleBinding {
  readonly module: DiscoveryModule;
  /** `default`/`namespace` for the module itself, otherwise the imported export's name. */
  readonly imported: string;
}

/** `require('x')`, `await import('x')`, `import('x')` → `'x'`. */
export function requiredSpecifier(node: ts.Expression): string | undefined {
  let expression = skipWrappers(node);
  if (ts.isAwaitExpression(expression)) expression = skipWrappers(expression.expression);
  if (!ts.isCallExpression(expression)) return undefined;
  const [argument] = expression.arguments;
  if (argument === undefined || !ts.isStringLiteralLike(argument)) return undefined;
  // `require(…)`, and the loaders that wrap it: `requirePeer('node-zookeeper-client')`,
  // `tryRequire('mdns')`, `requireOptional(…)`, `importModule(…)`.
  const isRequire =
    ts.isIdentifier(expression.expression) &&
    /^(require|\w*[rR]equire\w*|import[A-Z]\w*)$/.test(expression.expression.text) &&
    expression.arguments.length === 1;
  const isImport = expression.expression.kind === ts.SyntaxKind.ImportKeyword;
  return isRequire || isImport ? argument.text : undefined;
}

/**
 * Collects every local name bound to a discovery module, through any import form: default, named,
 * aliased, namespace, `import x = require()`, `require()` with or without destructuring, and
 * `await import()`.
 */
export function collectModuleBindings(sourceFile: ts.SourceFile): ModuleBindings {
  const bindings = new Map<string, ModuleBinding>();
  // The import statements and variable declarations that bind a discovery module.
  const declarations = new Set<ts.Node>();
  const nonPeerBindings = new Set<string>();
  let loadsDiscoveryModule = false;
  // Static imports are top-level statements: no tree walk needed for them.
  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const module = discoveryModuleOf(statement.moduleSpecifier.text);
      const clause = statement.importClause;
      if (NON_PEER_MODULES.test(statement.moduleSpecifier.text)) {
        if (clause?.name) nonPeerBindings.add(clause.name.text);
        const named = clause?.namedBindings;
        if (named && ts.isNamespaceImport(named)) nonPeerBindings.add(named.name.text);
        if (named && ts.isNamedImports(named))
          named.elements.forEach((element) => nonPeerBindings.add(element.name.text));
      }
      if (module === undefined) continue;
      loadsDiscoveryModule = true;
      declarations.add(statement);
      if (clause?.name) bindings.set(clause.name.text, { module, imported: 'default' });
      const named = clause?.namedBindings;
      if (named && ts.isNamespaceImport(named))
        bindings.set(named.name.text, { module, imported: 'namespace' });
      if (named && ts.isNamedImports(named)) {
        for (const element of named.elements) {
          bindings.set(element.name.text, { module, imported: (element.propertyName ?? element.name).text });
        }
      }
    } else if (
      ts.isImportEqualsDeclaration(statement) &&
      ts.isExternalModuleReference(statement.moduleReference)
    ) {
      const reference = statement.moduleReference.expression;
      const module = ts.isStringLiteral(reference) ? discoveryModuleOf(reference.text) : undefined;
      if (module) {
        loadsDiscoveryModule = true;
        declarations.add(statement);
        bindings.set(statement.name.text, { module, imported: 'namespace' });
      }
    }
  }
  // `require()` and `import()` can sit anywhere; walk the tree only when the text has one that
  // loads a discovery module (a 9 MB bundle that requires only `fs` is not walked for this).
  const dynamicLoads = /\b(?:\w*[rR]equire\w*|import\w*)\s*\(\s*['"`]([^'"`\n]+)['"`]/g;
  let needsWalk = false;
  for (const match of sourceFile.text.matchAll(dynamicLoads)) {
    if (match[1] !== undefined && discoveryModuleOf(match[1]) !== undefined) {
      needsWalk = true;
      break;
    }
  }
  const bindingOf = (identifier: ts.Identifier): ModuleBinding | undefined => {
    const binding = bindings.get(identifier.text);
    if (binding === undefined) return undefined;
    // Resolved like the codemod resolves names: a parameter or variable of the same name between
    // the use and the binding is another value. A name the lexical walk cannot place (a `var`
    // hoisted out of a block) keeps the file-wide binding.
    const declaration = findDeclaration(identifier, identifier.text);
    return declaration === undefined || declarations.has(declaration) ? binding : undefined;
  };
  if (needsWalk) {
    loadsDiscoveryModule = true;
    const visit = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && node.initializer) {
        if (bindFromInitializer(node.name, node.initializer, bindings)) declarations.add(node);
      }
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
  }
  if (bindings.size > 0) bindMemberAliases(sourceFile, bindings, declarations);
  return { bindings, bindingOf, loadsDiscoveryModule, nonPeerBindings };
}

/**
 * `import SSDP from 'node-ssdp'; const NodeSSDP = SSDP.Client;`: a top-level name for a member of a
 * bound module is bound to that module too (`new NodeSSDP()` makes a node-ssdp client).
 */
function bindMemberAliases(
  sourceFile: ts.SourceFile,
  bindings: Map<string, ModuleBinding>,
  declarations: Set<ts.Node>,
): void {
  for (const statement of sourceFile.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!ts.isIdentifier(declaration.name) || !declaration.initializer) continue;
      const initializer = skipWrappers(declaration.initializer);
      if (!ts.isPropertyAccessExpression(initializer)) continue;
      const owner = skipWrappers(initializer.expression);
      const bound = ts.isIdentifier(owner) ? bindings.get(owner.text) : undefined;
      if (bound === undefined || bindings.has(declaration.name.text)) continue;
      bindings.set(declaration.name.text, { module: bound.module, imported: initializer.name.text });
      declarations.add(declaration);
    }
  }
}

/** The discovery modules a file loads, and under which local names. */
export interface ModuleBindings {
  readonly bindings: Map<string, ModuleBinding>;
  /** The binding `identifier` refers to where it is used, unless a nearer declaration shadows it. */
  readonly bindingOf: (identifier: ts.Identifier) => ModuleBinding | undefined;
  /** True when the file imports or requires a discovery module anywhere, bound to a name or not. */
  readonly loadsDiscoveryModule: boolean;
  /** Names imported from identity-provider modules, whose `discover()` is not peer discovery. */
  readonly nonPeerBindings: ReadonlySet<string>;
}

/** Binds the names a `require()`/`import()` initializer declares; true when it loads a discovery module. */
function bindFromInitializer(
  name: ts.BindingName,
  initializer: ts.Expression,
  bindings: Map<string, ModuleBinding>,
): boolean {
  let expression = skipWrappers(initializer);
  // `require('node-discover').Discover` or `require('swim').default`
  let member: string | undefined;
  if (ts.isPropertyAccessExpression(expression)) {
    member = expression.name.text;
    expression = skipWrappers(expression.expression);
  }
  const specifier = requiredSpecifier(expression);
  const module = specifier === undefined ? undefined : discoveryModuleOf(specifier);
  if (module === undefined) return false;
  if (ts.isIdentifier(name)) {
    bindings.set(name.text, {
      module,
      imported: member === undefined || member === 'default' ? 'namespace' : member,
    });
    return true;
  }
  if (ts.isObjectBindingPattern(name) && member === undefined) {
    for (const element of name.elements) {
      if (!ts.isIdentifier(element.name)) continue;
      const imported =
        element.propertyName && ts.isIdentifier(element.propertyName)
          ? element.propertyName.text
          : element.name.text;
      bindings.set(element.name.text, { module, imported: imported === 'default' ? 'namespace' : imported });
    }
  }
  return true;
}
