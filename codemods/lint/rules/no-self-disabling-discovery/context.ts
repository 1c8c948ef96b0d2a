import { findDeclaredFunction, outermostWrapperOf, ts } from '../../../syntax/index.js';
import { collectModuleBindings, requiredSpecifier, discoveryModuleOf, skipWrappers } from './modules.js';
import type { DiscoveryModule, ModuleBinding, ModuleBindings } from './modules.js';
import {
  namesDeviceDiscovery,
  namesDiscovery,
  namesDiscoveryObject,
  namesNonPeerDiscovery,
  splitWords,
} from './names.js';

/** dgram methods that only multicast/broadcast discovery uses; they are discovery work on any receiver. */
export const MULTICAST_METHODS = new Set([
  'addMembership',
  'addSourceSpecificMembership',
  'setBroadcast',
  'setMulticastTTL',
  'setMulticastInterface',
  'setMulticastLoopback',
]);

/** Registering a listener is not work that can fail. */
export const LISTENER_METHODS = new Set([
  'on',
  'once',
  'addListener',
  'prependListener',
  'prependOnceListener',
  'off',
  'removeListener',
  'removeAllListeners',
  'listenerCount',
  'emit',
]);

/** Methods that add a listener to an emitter or an event target (`on`, `once`, `addEventListener`…). */
export const ADDS_A_LISTENER = /^(on|once|addListener|prependListener|prependOnceListener|addEventListener)$/;

/** `'error'`, `Swim.EventType.Error`, `Events.ERROR`: the event name of an error. */
export function isErrorEvent(argument: ts.Expression): boolean {
  const expression = skipWrappers(argument);
  if (ts.isStringLiteralLike(expression)) return expression.text === 'error';
  if (ts.isPropertyAccessExpression(expression)) return /^(error|Error|ERROR)$/.test(expression.name.text);
  return false;
}

/** Methods that start discovery and, on the libraries that have them, take an error-first callback. */
export const START_METHODS = new Set(['start', 'bootstrap', 'join']);

/** Method names that, in a class named for discovery (`GossipMembership.start()`), are the discovery start. */
const START_LIKE_METHODS = new Set([
  'start',
  'bootstrap',
  'join',
  'init',
  'initialize',
  'connect',
  'listen',
  'open',
  'run',
  'setup',
  'begin',
]);

/**
 * First words of a lookup method: in a class named for discovery (`DiscoveryService.findNodes()`,
 * `ServiceRegistry.getInstances()`), asking the store is the discovery answer.
 */
const LOOKUP_VERBS = new Set(['find', 'get', 'list', 'load', 'fetch', 'lookup', 'resolve', 'query']);
const PEER_LIST_LOOKUP_NOUNS = new Set([
  'nodes',
  'peers',
  'members',
  'instances',
  'hosts',
  'servers',
  'endpoints',
]);

/** Everything the rule knows about one file before it looks at handlers. */
export interface DiscoveryContext {
  readonly sourceFile: ts.SourceFile;
  readonly bindings: ReadonlyMap<string, ModuleBinding>;
  /** Origin of an expression: the discovery module it was made from, if any. */
  originOf(expression: ts.Expression): DiscoveryModule | undefined;
  /** True when `expression` is a discovery object: a membership library object, a multicast socket, or named so. */
  isDiscoveryObject(expression: ts.Expression): boolean;
  /** The body of a function declared in this file that `call` invokes, if it can be resolved without types. */
  localCallee(call: ts.CallExpression | ts.NewExpression): ts.FunctionLikeDeclaration | undefined;
  /**
   * True when a callee is discovery of something other than peers: it comes from an OpenID
   * Connect / OAuth module (`Issuer.discover()`, `client.discovery()`), or its names say so
   * (`discoverPlugins()`, `testDiscovery.run()`).
   */
  isNonPeerDiscovery(callee: ts.Expression): boolean;
  /** The function `name` refers to at `site` (resolved lexically), or a method of the class around `site`. */
  localFunction(name: string, site: ts.Node, viaThis: boolean): ts.FunctionLikeDeclaration | undefined;
  /**
   * True when the file names a DNS-SD service type (`'_hap._tcp'`, `"_http._tcp.local"`): it
   * advertises or browses services, so `startAdvertising()` there is discovery work.
   */
  readonly namesServiceType: boolean;
}

/** Option keys that tell a library to find peers: seeds to gossip with, a multicast group, a service type. */
const DISCOVERY_OPTION =
  /^(seeds?|seedNodes|bootstrapNodes|bootstrap|peers|hosts|gossip\w*|multicast\w*|broadcast\w*|serviceType|mdns\w*|membership\w*)$/i;

/**
 * `new Members({ seeds, gossipIntervalMs })`, `createBrowser({ serviceType })`: a construction whose
 * options say it gossips with seeds, joins a multicast group or browses a service type is discovery,
 * whatever the package is called.
 */
function configuredForDiscovery(
  initializer: ts.Expression,
  sourceFile: ts.SourceFile,
): DiscoveryModule | undefined {
  let expression = skipWrappers(initializer);
  if (ts.isAwaitExpression(expression)) expression = skipWrappers(expression.expression);
  if (!ts.isCallExpression(expression) && !ts.isNewExpression(expression)) return undefined;
  const options = expression.arguments?.find((argument) =>
    ts.isObjectLiteralExpression(skipWrappers(argument)),
  );
  if (options === undefined) return undefined;
  const literal = skipWrappers(options) as ts.ObjectLiteralExpression;
  const keys = literal.properties
    .map((property) => (property.name && ts.isIdentifier(property.name) ? property.name.text : undefined))
    .filter((name): name is string => name !== undefined);
  const discoveryKeys = keys.filter((name) => DISCOVERY_OPTION.test(name));
  // One generic key (`hosts`, `peers`) is an HTTP client's too; a gossip or multicast key, or two keys, is not.
  const strong = discoveryKeys.some((name) =>
    /gossip|multicast|broadcast|serviceType|mdns|seed|membership/i.test(name),
  );
  if (!strong && discoveryKeys.length < 2) return undefined;
  const callee = expression.expression.getText(sourceFile);
  return {
    name: `${callee.length > 30 ? `${callee.slice(0, 29)}…` : callee}, configured to find peers`,
    kind: 'membership',
    errorFirstStart: false,
  };
}

/** Names code gives `this` inside constructors and prototype methods. */
const THIS_ALIASES = new Set(['this', 'self', 'that', 'me', '_this', '_self']);

/** `this`, or a name it is commonly kept under (`self`, `that`): the object whose method runs. */
export function isSelfReference(node: ts.Expression): boolean {
  const key = keyOf(node);
  return key !== undefined && THIS_ALIASES.has(key);
}

/**
 * `sock`, `this.swim`, `app.discovery` → a key; anything else → undefined. A chain that starts at
 * `self` or `that` is keyed from `this`: in a constructor or method, the socket bound as
 * `this.socket` and sent on as `self.socket` is one socket.
 */
export function keyOf(node: ts.Expression): string | undefined {
  const expression = skipWrappers(node);
  if (ts.isIdentifier(expression)) return expression.text;
  if (expression.kind === ts.SyntaxKind.ThisKeyword) return 'this';
  if (ts.isPropertyAccessExpression(expression)) {
    const base = keyOf(expression.expression);
    if (base !== undefined && THIS_ALIASES.has(base)) return selfKey(expression.name.text, expression);
    return base === undefined ? undefined : `${base}.${expression.name.text}`;
  }
  return undefined;
}

/**
 * `this.client` inside `class Player` → `Player::this.client`: two classes of one file that both
 * keep a `this.client` (a TCP socket in one, a broadcast socket in the other) hold two objects.
 * Outside a named class (constructor functions and their prototypes) the key stays `this.client`.
 */
export function selfKey(property: string, site: ts.Node): string {
  return `${selfScope(site)}this.${property}`;
}

/**
 * `Base::` for a site inside `class Base` or inside a class of the same file that extends it
 * (`class Browser extends Base`: one object, one `this.socket`), or '' outside a named class.
 */
export function selfScope(site: ts.Node): string {
  const own = ts.findAncestor(site, ts.isClassLike);
  if (!own?.name) return '';
  let scope = scopeByClass.get(own);
  if (scope === undefined) {
    const classes = classesOf(site.getSourceFile());
    let owner: ts.ClassLikeDeclaration = own;
    // A bounded walk up the chain: `class A extends B`, `class B extends A` must end.
    for (let hops = 0; hops < 8; hops += 1) {
      const base: ts.Expression | undefined = owner.heritageClauses?.find(
        (clause) => clause.token === ts.SyntaxKind.ExtendsKeyword,
      )?.types[0]?.expression;
      const parent = base !== undefined && ts.isIdentifier(base) ? classes.get(base.text) : undefined;
      if (parent === undefined || parent === owner) break;
      owner = parent;
    }
    scope = `${(owner.name ?? own.name).text}::`;
    scopeByClass.set(own, scope);
  }
  return scope;
}

/** Per class: its scope (keys are asked for every `this.x` the walk and the handlers meet). */
const scopeByClass = new WeakMap<ts.ClassLikeDeclaration, string>();

const classesByFile = new WeakMap<ts.SourceFile, ReadonlyMap<string, ts.ClassLikeDeclaration>>();

/** The file's top-level named classes, by name. */
function classesOf(sourceFile: ts.SourceFile): ReadonlyMap<string, ts.ClassLikeDeclaration> {
  let classes = classesByFile.get(sourceFile);
  if (classes === undefined) {
    const found = new Map<string, ts.ClassLikeDeclaration>();
    for (const statement of sourceFile.statements) {
      if (ts.isClassDeclaration(statement) && statement.name) found.set(statement.name.text, statement);
    }
    classes = found;
    classesByFile.set(sourceFile, classes);
  }
  return classes;
}

/** The identifiers along a receiver chain: `this.cluster.gossip` → `['cluster', 'gossip']`. */
export function chainNames(node: ts.Expression): string[] {
  const names: string[] = [];
  let expression: ts.Expression = skipWrappers(node);
  for (;;) {
    if (ts.isIdentifier(expression)) {
      names.unshift(expression.text);
      return names;
    }
    if (ts.isPropertyAccessExpression(expression)) {
      names.unshift(expression.name.text);
      expression = skipWrappers(expression.expression);
    } else if (ts.isCallExpression(expression) || ts.isElementAccessExpression(expression)) {
      expression = skipWrappers(expression.expression);
    } else {
      return names;
    }
  }
}

/**
 * True when a call somewhere below `root` has a last callee name `test` accepts (`this.start()` →
 * `start`, `timedPromise(…)` → `timedPromise`); nested functions are searched too.
 */
export function containsCall(
  root: ts.Node,
  test: (name: string, call: ts.CallExpression) => boolean,
): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node)) {
      const names = chainNames(node.expression);
      if (test(names[names.length - 1] ?? '', node)) {
        found = true;
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(root);
  return found;
}

/** Objects made from discovery modules (or configured to find peers), by key (`sock`, `this.swim`). */
type DiscoveryObjects = Map<string, DiscoveryModule>;

/** Receivers (by key) the file calls dgram's multicast methods, `bind` or `send` on, or `join` and `members`. */
interface SocketUse {
  readonly multicast: Set<string>;
  readonly bind: Set<string>;
  readonly send: Set<string>;
  /** Receivers of `join(…)` and of `members()`: together they make a membership object. */
  readonly join: Set<string>;
  readonly members: Set<string>;
  /** Set when a string literal of the file is a DNS-SD service type. */
  serviceType: boolean;
  /** Set when a string literal of the file is an SSDP message or a discovery multicast group. */
  discoveryProtocol: boolean;
  /** Receivers bound or sent on inside a class or function named for discovery (`class TuyaDiscovery`). */
  readonly ownedByDiscovery: Set<string>;
  /** Variables a function returns (`return socket`): the caller holds them under another name. */
  readonly returned: Set<string>;
}

/** Records a discovery object under a key built only when needed (most initializers are not one). */
interface ObjectRecorder {
  /** `x = <initializer>`: recorded when the initializer makes a discovery object. */
  remember(key: () => string | undefined, initializer: ts.Expression): void;
  /** `x: RingPop`: recorded when the declared type is imported from a discovery module. */
  rememberTyped(key: () => string, type: ts.TypeNode | undefined): void;
}

/**
 * Builds the per-file context in four steps: the module bindings; one walk that records discovery
 * objects and socket use; the tests built on what the walk found; and local function lookup.
 */
export function buildContext(sourceFile: ts.SourceFile): DiscoveryContext {
  const modules = collectModuleBindings(sourceFile);
  const objects: DiscoveryObjects = new Map();
  const sockets: SocketUse = {
    multicast: new Set(),
    bind: new Set(),
    send: new Set(),
    join: new Set(),
    members: new Set(),
    serviceType: false,
    discoveryProtocol: false,
    ownedByDiscovery: new Set(),
    returned: new Set(),
  };
  // `networkDiscovery/networkDiscovery.scanUdpBroadcast.js`, `lib/ssdp.js`: the file is where the
  // project keeps its discovery, so a UDP socket bound or sent on there is for it.
  sockets.discoveryProtocol = fileNamedForDiscovery(sourceFile.fileName);
  const originOf = originResolver(modules, objects);
  recordDiscoveryWork(sourceFile, objectRecorder(sourceFile, modules, originOf, objects), sockets);

  const localFunction = (
    name: string,
    site: ts.Node,
    viaThis: boolean,
  ): ts.FunctionLikeDeclaration | undefined => {
    if (viaThis) {
      const owner = ts.findAncestor(site.parent, ts.isClassLike);
      if (owner === undefined) return prototypeFunction(sourceFile, name);
      const member = owner?.members.find(
        (candidate) =>
          (ts.isMethodDeclaration(candidate) || ts.isPropertyDeclaration(candidate)) &&
          ts.isIdentifier(candidate.name) &&
          candidate.name.text === name,
      );
      if (member && ts.isMethodDeclaration(member)) return member;
      if (member && ts.isPropertyDeclaration(member) && member.initializer) {
        const initializer = skipWrappers(member.initializer);
        if (ts.isArrowFunction(initializer) || ts.isFunctionExpression(initializer)) return initializer;
      }
      return undefined;
    }
    return findDeclaredFunction(site, name);
  };

  const localCallee = (
    call: ts.CallExpression | ts.NewExpression,
  ): ts.FunctionLikeDeclaration | undefined => {
    const callee = skipWrappers(call.expression);
    if (ts.isIdentifier(callee)) return localFunction(callee.text, call, false);
    if (ts.isPropertyAccessExpression(callee) && isSelfReference(callee.expression)) {
      return localFunction(callee.name.text, call, true);
    }
    return undefined;
  };

  return {
    sourceFile,
    bindings: modules.bindings,
    originOf,
    isDiscoveryObject: discoveryObjectTest(originOf, sockets, objects),
    isNonPeerDiscovery: nonPeerDiscoveryTest(modules.nonPeerBindings),
    localCallee,
    localFunction,
    namesServiceType: sockets.serviceType,
  };
}

const prototypeFunctionsByFile = new WeakMap<
  ts.SourceFile,
  ReadonlyMap<string, ts.FunctionLikeDeclaration>
>();

/**
 * `ZooKeeperService.prototype.emitError = function (error) { … }`: a method written outside a class,
 * found by name for `this.emitError(…)` / `that.emitError(…)` in the same file.
 */
function prototypeFunction(sourceFile: ts.SourceFile, name: string): ts.FunctionLikeDeclaration | undefined {
  let functions = prototypeFunctionsByFile.get(sourceFile);
  if (functions === undefined) {
    const found = new Map<string, ts.FunctionLikeDeclaration>();
    const visit = (node: ts.Node): void => {
      if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        ts.isPropertyAccessExpression(node.left) &&
        ts.isPropertyAccessExpression(node.left.expression) &&
        node.left.expression.name.text === 'prototype'
      ) {
        const value = skipWrappers(node.right);
        if (
          (ts.isFunctionExpression(value) || ts.isArrowFunction(value)) &&
          !found.has(node.left.name.text)
        ) {
          found.set(node.left.name.text, value);
        }
      }
      ts.forEachChild(node, visit);
    };
    if (sourceFile.text.includes('.prototype.')) visit(sourceFile);
    functions = found;
    prototypeFunctionsByFile.set(sourceFile, functions);
  }
  return functions.get(name);
}

/**
 * Step 1: where an expression comes from — the discovery module its receiver chain starts at, or
 * an object recorded from one. `objects` fills in during the walk, which already asks.
 */
function originResolver(
  modules: ModuleBindings,
  objects: ReadonlyMap<string, DiscoveryModule>,
): (node: ts.Expression) => DiscoveryModule | undefined {
  const { bindingOf, loadsDiscoveryModule } = modules;
  const originOf = (node: ts.Expression): DiscoveryModule | undefined => {
    // Most files that pass the text pre-filter load no discovery module at all (they only name
    // things "discovery"); skip the receiver-chain walk for them.
    if (!loadsDiscoveryModule && objects.size === 0) return undefined;
    let expression = skipWrappers(node);
    if (ts.isAwaitExpression(expression)) expression = skipWrappers(expression.expression);
    if (ts.isIdentifier(expression)) return bindingOf(expression)?.module ?? objects.get(expression.text);
    const key = keyOf(expression);
    if (key !== undefined && objects.has(key)) return objects.get(key);
    if (ts.isPropertyAccessExpression(expression)) return originOf(expression.expression);
    if (ts.isCallExpression(expression)) {
      const specifier = requiredSpecifier(expression);
      if (specifier !== undefined) return discoveryModuleOf(specifier);
      return originOf(expression.expression);
    }
    if (ts.isNewExpression(expression)) return originOf(expression.expression);
    return undefined;
  };
  return originOf;
}

function isMadeByCall(node: ts.Expression): boolean {
  let expression = skipWrappers(node);
  if (ts.isAwaitExpression(expression)) expression = skipWrappers(expression.expression);
  return ts.isCallExpression(expression) || ts.isNewExpression(expression);
}

/** The module a call or construction makes a discovery object from, if it makes one. */
function moduleMadeBy(
  initializer: ts.Expression,
  sourceFile: ts.SourceFile,
  loadsDiscoveryModule: boolean,
  originOf: (node: ts.Expression) => DiscoveryModule | undefined,
): DiscoveryModule | undefined {
  if (!isMadeByCall(initializer)) return undefined;
  // A library the rule does not know, recognised by what it is told to do.
  if (!loadsDiscoveryModule) return configuredForDiscovery(initializer, sourceFile);
  const module = originOf(initializer) ?? configuredForDiscovery(initializer, sourceFile);
  const call = skipWrappers(initializer);
  if (module !== undefined || !ts.isCallExpression(call)) return module;
  // A wrapper around a discovery function is that function: `promisify(ringpop.bootstrap.bind(ringpop))`.
  const wrapped = call.arguments
    .map((argument) => originOf(argument))
    .find((origin) => origin?.kind === 'membership');
  return wrapped ?? madeByLocalFactory(call, sourceFile, loadsDiscoveryModule, originOf);
}

/**
 * `this.client = createZooKeeperClient(options)` where that function of the file makes the client
 * (`var client = zooKeeper.createClient(…); …; return client`): the call makes what it returns.
 */
function madeByLocalFactory(
  call: ts.CallExpression,
  sourceFile: ts.SourceFile,
  loadsDiscoveryModule: boolean,
  originOf: (node: ts.Expression) => DiscoveryModule | undefined,
): DiscoveryModule | undefined {
  const callee = skipWrappers(call.expression);
  if (!ts.isIdentifier(callee)) return undefined;
  const factory = findDeclaredFunction(call, callee.text);
  // One factory deep, and never into itself: `function make() { return make() }` must end.
  if (!factory?.body || !ts.isBlock(factory.body) || readingFactories.has(factory)) return undefined;
  const known = factoryVerdicts.get(factory);
  if (known !== undefined) return known ?? undefined;
  // Only a verdict read from the top is kept: one cut short by the guard above is partial.
  const fromTheTop = readingFactories.size === 0;
  readingFactories.add(factory);
  try {
    const made = readFactory(factory.body, sourceFile, loadsDiscoveryModule, originOf);
    if (fromTheTop) factoryVerdicts.set(factory, made ?? null);
    return made;
  } finally {
    readingFactories.delete(factory);
  }
}

/** Per factory function: what it makes, read once (null: nothing from a discovery module). */
const factoryVerdicts = new WeakMap<ts.FunctionLikeDeclaration, DiscoveryModule | null>();

/** The discovery module a factory's `return` hands out (`return x` resolved to `const x = …`). */
function readFactory(
  body: ts.Block,
  sourceFile: ts.SourceFile,
  loadsDiscoveryModule: boolean,
  originOf: (node: ts.Expression) => DiscoveryModule | undefined,
): DiscoveryModule | undefined {
  for (const statement of body.statements) {
    if (!ts.isReturnStatement(statement) || !statement.expression) continue;
    let made: ts.Expression | undefined = skipWrappers(statement.expression);
    if (ts.isIdentifier(made)) {
      const name = made.text;
      made = body.statements
        .filter(ts.isVariableStatement)
        .flatMap((variables) => variables.declarationList.declarations)
        .find(
          (declaration) => ts.isIdentifier(declaration.name) && declaration.name.text === name,
        )?.initializer;
    }
    if (made !== undefined && isMadeByCall(made)) {
      const module = moduleMadeBy(made, sourceFile, loadsDiscoveryModule, originOf);
      if (module !== undefined) return module;
    }
  }
  return undefined;
}

/** Factories being read right now (see `madeByLocalFactory`). */
const readingFactories = new Set<ts.Node>();

/** Step 2a: how the walk records discovery objects into `objects`. */
function objectRecorder(
  sourceFile: ts.SourceFile,
  modules: ModuleBindings,
  originOf: (node: ts.Expression) => DiscoveryModule | undefined,
  objects: DiscoveryObjects,
): ObjectRecorder {
  const { bindings, loadsDiscoveryModule } = modules;
  return {
    // Keys are built only once the value is known to come from a discovery module: most assignments do not.
    remember(key, initializer) {
      // `const server = this._servers[port] = dgram.createSocket(…)`: both names hold what is made.
      let made = skipWrappers(initializer);
      while (ts.isBinaryExpression(made) && made.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
        made = skipWrappers(made.right);
      }
      // `this.legacy = enabled ? broadcast(port) : undefined`: made on one branch is made all the same.
      const branches = ts.isConditionalExpression(made) ? [made.whenTrue, made.whenFalse] : [made];
      const module = branches
        .map((branch) => moduleMadeBy(branch, sourceFile, loadsDiscoveryModule, originOf))
        .find((found) => found !== undefined);
      const resolvedKey = module === undefined ? undefined : key();
      if (module !== undefined && resolvedKey !== undefined) objects.set(resolvedKey, module);
    },
    // `ringpop: RingPop`, `private swim: Swim` — a declared type imported from a discovery module.
    rememberTyped(key, type) {
      if (bindings.size === 0 || !type || !ts.isTypeReferenceNode(type)) return;
      let name: ts.EntityName = type.typeName;
      while (ts.isQualifiedName(name)) name = name.left;
      const module = bindings.get(name.text)?.module;
      if (module !== undefined) objects.set(key(), module);
    },
  };
}

/**
 * Step 2: one walk over the file, dispatched on the node kind (it runs over every node of every
 * file that passes the pre-filter, bundles of several megabytes included): declarations and
 * assignments that make discovery objects, and calls that use a socket for discovery.
 */
function recordDiscoveryWork(sourceFile: ts.SourceFile, recorder: ObjectRecorder, sockets: SocketUse): void {
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.CallExpression) recordSocketUse(node as ts.CallExpression, sockets);
    else if (
      node.kind === ts.SyntaxKind.StringLiteral ||
      node.kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral
    ) {
      const { text } = node as ts.StringLiteralLike;
      if (!sockets.serviceType && SERVICE_TYPE.test(text)) sockets.serviceType = true;
      if (!sockets.discoveryProtocol && DISCOVERY_PROTOCOL.test(text)) sockets.discoveryProtocol = true;
    } else if (node.kind === ts.SyntaxKind.ReturnStatement) {
      const { expression } = node as ts.ReturnStatement;
      if (expression && ts.isIdentifier(expression)) sockets.returned.add(expression.text);
    } else recordObject(node, recorder);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
}

/**
 * A DNS-SD service type as mDNS advertisers and browsers write it: `_hap._tcp`, `_http._tcp.local.`,
 * a subtype (`_printer._sub._http._tcp`) and the service-type enumeration name
 * (`_services._dns-sd._udp.local`) included.
 */
const SERVICE_TYPE = /^(_[A-Za-z0-9-]+\.)+_(tcp|udp)(\.local\.?)?$/;

/**
 * What only discovery puts on a UDP socket: an SSDP request or notification (`M-SEARCH * HTTP/1.1`,
 * `ssdp:discover`, `ssdp:alive`) or a well-known discovery group (SSDP and WS-Discovery's
 * 239.255.255.250, mDNS's 224.0.0.251 and ff02::fb, CoAP's 224.0.1.187, ff02::c).
 */
const DISCOVERY_PROTOCOL =
  /^M-SEARCH \*|ssdp:(discover|alive|byebye|all)\b|^(239\.255\.255\.250|224\.0\.0\.251|224\.0\.1\.187|ff02::(c|fb))$/i;

/** Step 2b: a parameter, property, variable or assignment that holds a discovery object. */
function recordObject(node: ts.Node, recorder: ObjectRecorder): void {
  const { remember, rememberTyped } = recorder;
  switch (node.kind) {
    case ts.SyntaxKind.Parameter: {
      const parameter = node as ts.ParameterDeclaration;
      const name = parameter.name;
      if (ts.isIdentifier(name)) {
        const isProperty = (ts.getModifiers(parameter)?.length ?? 0) > 0;
        rememberTyped(() => (isProperty ? selfKey(name.text, parameter) : name.text), parameter.type);
      }
      break;
    }
    case ts.SyntaxKind.PropertyDeclaration: {
      const property = node as ts.PropertyDeclaration;
      const name = property.name;
      if (ts.isIdentifier(name)) {
        rememberTyped(() => selfKey(name.text, property), property.type);
        if (property.initializer) remember(() => selfKey(name.text, property), property.initializer);
      }
      break;
    }
    case ts.SyntaxKind.VariableDeclaration: {
      const declaration = node as ts.VariableDeclaration;
      const name = declaration.name;
      if (!ts.isIdentifier(name)) break;
      rememberTyped(() => name.text, declaration.type);
      const initializer = declaration.initializer;
      if (initializer) remember(() => name.text, initializer);
      break;
    }
    case ts.SyntaxKind.BinaryExpression: {
      const binary = node as ts.BinaryExpression;
      if (
        binary.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        !ts.isObjectLiteralExpression(binary.left)
      ) {
        remember(() => keyOf(binary.left), binary.right);
      }
      break;
    }
  }
}

/**
 * The file's own name or its folder's names a discovery protocol or discovery itself, as a module
 * name does (`TuyaDiscovery.js`, `mdns-browser`): a name of five words or more is a sentence about
 * the code (`udp-data-socket-is-not-discovery.js`), not a module's name.
 */
function fileNamedForDiscovery(fileName: string): boolean {
  const [folder = '', file = ''] = fileName.split(/[\\/]/).slice(-2);
  return [folder, file.replace(/\.[^.]+$/, '')].some((part) =>
    part
      .split('.')
      .some(
        (name) =>
          splitWords(name).length <= 4 &&
          (namesDeviceDiscovery(name) || /^(ssdp|mdns|bonjour|zeroconf|dnssd)$/i.test(name)),
      ),
  );
}

/** Step 2c: `sock.addMembership(…)`, `sock.bind(…)`, `sock.send(…)` — what the file does with a receiver. */
function recordSocketUse(call: ts.CallExpression, sockets: SocketUse): void {
  const callee = call.expression;
  if (!ts.isPropertyAccessExpression(callee)) return;
  const method = callee.name.text;
  const isMulticast = MULTICAST_METHODS.has(method);
  if (!isMulticast && !/^(bind|send|join|members)$/.test(method)) return;
  const key = keyOf(callee.expression);
  if (key === undefined) return;
  if (isMulticast) sockets.multicast.add(key);
  else if (method === 'bind') sockets.bind.add(key);
  else if (method === 'send') sockets.send.add(key);
  if ((method === 'bind' || method === 'send') && inDiscoveryNamedOwner(call))
    sockets.ownedByDiscovery.add(key);
  // `sneeze.join(meta)` … `sneeze.members()`: `[].join(',')` has no `members()` beside it.
  else if (method === 'join' && call.arguments.length <= 1) sockets.join.add(key);
  else if (method === 'members' && call.arguments.length === 0) sockets.members.add(key);
}

/** A function around `site`, or the class it sits in, is named for discovery (`TuyaDiscovery`, `discoverDevices`). */
function inDiscoveryNamedOwner(site: ts.Node): boolean {
  for (let node: ts.Node | undefined = site.parent; node; node = node.parent) {
    if (ts.isClassLike(node)) return node.name !== undefined && namesDeviceDiscovery(node.name.text);
    if (!ts.isFunctionLike(node) || !('body' in node)) continue;
    const name = functionName(node as ts.FunctionLikeDeclaration);
    if (name !== undefined && namesDeviceDiscovery(name)) return true;
  }
  return false;
}

/**
 * Step 3: is an expression a discovery object — made from a membership library, a dgram socket
 * used for discovery, the wrapper that owns one, or named so.
 */
function discoveryObjectTest(
  originOf: (node: ts.Expression) => DiscoveryModule | undefined,
  sockets: SocketUse,
  objects: ReadonlyMap<string, DiscoveryModule>,
): (node: ts.Expression) => boolean {
  /**
   * A dgram socket is discovery when the file multicasts/broadcasts on it, binds and sends (peer
   * UDP), or binds or sends in a file that speaks a discovery protocol (SSDP, an mDNS group).
   */
  const isDiscoverySocketKey = (key: string): boolean =>
    sockets.multicast.has(key) ||
    sockets.ownedByDiscovery.has(key) ||
    (sockets.bind.has(key) && sockets.send.has(key)) ||
    (sockets.discoveryProtocol && (sockets.bind.has(key) || sockets.send.has(key))) ||
    heldElsewhereForDiscovery(key);
  /**
   * `function createSocket() { const socket = dgram.createSocket(…); …; return socket }` beside
   * `wiz.socket.setBroadcast(true)`: the socket handed out is the one the file broadcasts on as
   * `wiz.socket`.
   */
  const heldElsewhereForDiscovery = (key: string): boolean => {
    if (!sockets.returned.has(key)) return false;
    for (const held of [...sockets.multicast, ...sockets.ownedByDiscovery]) {
      if (held.endsWith(`.${key}`)) return true;
    }
    return false;
  };
  const ownsMulticastSocket = (owner: string): boolean => {
    for (const key of sockets.multicast) if (key.startsWith(`${owner}.`)) return true;
    return false;
  };
  /** `this.socket = dgram.createSocket(…)`, then bound and sent on: the object holds a peer socket. */
  const ownsPeerSocket = (scope: string): boolean => {
    for (const [key, module] of objects) {
      if (module.kind === 'dgram' && key.startsWith(`${scope}this.`) && isDiscoverySocketKey(key))
        return true;
    }
    return false;
  };
  return (node) => {
    const expression = skipWrappers(node);
    const module = originOf(expression);
    if (module?.kind === 'membership') return true;
    const key = keyOf(expression);
    if (module?.kind === 'dgram') return key !== undefined && isDiscoverySocketKey(key);
    if (key !== undefined && isDiscoverySocketKey(key) && sockets.multicast.has(key)) return true;
    // The wrapper that owns such a socket: `self.on('error', …)` in a constructor that joins a
    // multicast group on `self.socket` is the discovery object, under whatever name it is exported.
    if (key !== undefined && THIS_ALIASES.has(key)) {
      const scope = selfScope(expression);
      if (ownsMulticastSocket(`${scope}this`) || ownsPeerSocket(scope)) return true;
    }
    // A membership library by another name, recognised by its API: the file joins through it and
    // reads its member list (`members.join(meta)`, `members.members()`), as SWIM and memberlist do.
    if (key !== undefined && sockets.join.has(key) && sockets.members.has(key)) return true;
    return chainNames(expression).some((name) => namesDiscoveryObject(name));
  };
}

/** Step 3b: discovery of something other than peers (an OpenID Connect module, `discoverPlugins()`). */
function nonPeerDiscoveryTest(nonPeerBindings: ReadonlySet<string>): (callee: ts.Expression) => boolean {
  return (callee) => {
    const names = chainNames(callee);
    const root = names[0];
    if (root !== undefined && nonPeerBindings.has(root)) return true;
    return namesNonPeerDiscovery(names);
  };
}

/** The name a function is known by: its own, or the variable / property / method it is assigned to. */
export function functionName(node: ts.FunctionLikeDeclaration): string | undefined {
  if (
    node.name &&
    (ts.isIdentifier(node.name) || ts.isPrivateIdentifier(node.name) || ts.isStringLiteral(node.name))
  ) {
    return node.name.text;
  }
  const parent = node.parent;
  if (
    (ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)) &&
    ts.isIdentifier(parent.name)
  ) {
    return parent.name.text;
  }
  // `Discovery.prototype.start = function () {…}`, `exports.startDiscovery = function () {…}`,
  // `this.announce = () => {…}`: the property it is assigned to.
  if (
    ts.isBinaryExpression(parent) &&
    parent.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
    parent.right === node &&
    ts.isPropertyAccessExpression(parent.left)
  ) {
    return parent.left.name.text;
  }
  return undefined;
}

/**
 * The name of the nearest named function around `site` when that name says discovery
 * (`startDiscovery`, `joinCluster`), or a start-like method of a class named for discovery
 * (`GossipMembership.start`). Anonymous callbacks in between are looked through.
 */
export function enclosingDiscoveryFunction(site: ts.Node): string | undefined {
  const named = nearestNamedFunction(site);
  if (named === undefined) return undefined;
  const { declaration, name } = named;
  if (namesDiscovery(name)) return name;
  const words = splitWords(name);
  // `findNodes`, `getAllPeers`, `listInstances`: a lookup of the peer list, not of one peer
  // (`getPeer`) or of something else the class found (`getAllProviders`).
  const lookup = LOOKUP_VERBS.has(words[0] ?? '') && words.some((word) => PEER_LIST_LOOKUP_NOUNS.has(word));
  if (ts.isMethodDeclaration(declaration) && (START_LIKE_METHODS.has(name) || lookup)) {
    const owner = declaration.parent;
    if ((ts.isClassDeclaration(owner) || ts.isClassExpression(owner)) && owner.name) {
      if (namesDiscoveryObject(owner.name.text)) return `${owner.name.text}.${name}`;
    }
  }
  return undefined;
}

/**
 * The nearest function around `site` that has a name (its own, or the variable, property or method
 * it is assigned to), with that name. Anonymous callbacks in between are looked through.
 */
export function nearestNamedFunction(
  site: ts.Node,
): { readonly declaration: ts.FunctionLikeDeclaration; readonly name: string } | undefined {
  for (const declaration of functionsAround(site)) {
    const name = functionName(declaration);
    if (name !== undefined) return { declaration, name };
  }
  return undefined;
}

/** The functions with a body around `site`, innermost first. */
export function* functionsAround(site: ts.Node): Generator<ts.FunctionLikeDeclaration> {
  for (let node: ts.Node | undefined = site.parent; node; node = node.parent) {
    if (ts.isFunctionLike(node) && 'body' in node) yield node as ts.FunctionLikeDeclaration;
  }
}

/**
 * `emitter.on('message', fn)` → the emitter, the event and the method, when `fn` is that listener
 * (or the callback of any other method of the receiver, with `event` undefined).
 */
export function listenedTo(
  fn: ts.Node,
): { readonly receiver: ts.Expression; readonly method: string; readonly event?: string } | undefined {
  const call = outermostWrapperOf(fn).parent;
  if (
    !call ||
    !ts.isCallExpression(call) ||
    !call.arguments.some((argument) => outermostWrapperOf(fn) === argument)
  )
    return undefined;
  const callee = skipWrappers(call.expression);
  if (!ts.isPropertyAccessExpression(callee)) return undefined;
  const [first] = call.arguments;
  const event = first !== undefined && ts.isStringLiteralLike(first) ? first.text : undefined;
  return { receiver: callee.expression, method: callee.name.text, event };
}

/**
 * `sock.send(answer, rinfo.port, rinfo.address)`: a reply to whoever sent a packet, addressed
 * through a parameter of the function around it (the `rinfo` of a `'message'` listener). A failed
 * reply to one requester leaves discovery running; a failed announcement to the group does not.
 */
export function repliesToSender(call: ts.CallExpression): boolean {
  const parameters = new Set<string>();
  for (let node: ts.Node | undefined = call.parent; node; node = node.parent) {
    if (!ts.isFunctionLike(node)) continue;
    for (const parameter of node.parameters) {
      if (ts.isIdentifier(parameter.name)) parameters.add(parameter.name.text);
    }
  }
  return call.arguments.slice(1).some((argument) => {
    const expression = skipWrappers(argument);
    if (!ts.isPropertyAccessExpression(expression)) return false;
    if (!/^(address|port|host)$/.test(expression.name.text)) return false;
    const root = skipWrappers(expression.expression);
    return ts.isIdentifier(root) && parameters.has(root.text);
  });
}

/** Names of functions that take discovery down rather than bring it up. */
const TEARDOWN_NAME =
  /^_*(stop|destroy|close|shutdown|dispose|teardown|cleanup|cleanUp|terminate|quit|exit|unref|closeFn|onClose|onExit|onShutdown|gracefulShutdown|leave|unbind|disconnect|unload|onUnload|onStop|onDestroy|onModuleDestroy|onApplicationShutdown|beforeApplicationShutdown)(All|Sockets?|Discovery|Server|Fn)?$/i;

/**
 * True when `site` runs on a teardown path: inside a function named `stop`, `destroy`, `close`,
 * `shutdown`… (anonymous callbacks in between are looked through). A failure there cannot switch
 * discovery off: the code is already switching it off, and logging and carrying on is how a
 * shutdown chain reaches its end.
 */
export function onTeardownPath(site: ts.Node): boolean {
  const named = nearestNamedFunction(site);
  if (named !== undefined && namesTeardownFunction(named.name)) return true;
  // `adapter.on('unload', (callback) => { … })`, `process.once('SIGTERM', …)`: a listener of the
  // host's shutdown is a teardown path whatever the function is (not) called.
  for (const fn of functionsAround(site)) {
    const listened = listenedTo(fn);
    if (listened?.event !== undefined && /^(on|once|addListener)$/.test(listened.method)) {
      if (TEARDOWN_EVENTS.has(listened.event)) return true;
    }
  }
  return false;
}

/** Events a host or the process emits when it shuts down. */
const TEARDOWN_EVENTS = new Set([
  'unload',
  'shutdown',
  'exit',
  'beforeExit',
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
]);

/**
 * First words of function names that take something down whatever follows: `stopMonitoring`,
 * `_stopListening`, `closeSockets`, `destroyAdvertiser`. The word, not a prefix: `closestPeers`
 * starts with "closest".
 */
const TEARDOWN_FIRST_WORDS = new Set([
  'stop',
  'destroy',
  'close',
  'shutdown',
  'dispose',
  'teardown',
  'cleanup',
  'terminate',
  'unbind',
  'disconnect',
  // Taking this node out of a registry or a group: `deregister`, `unregisterService`, `unsubscribe`.
  'deregister',
  'unregister',
  'unsubscribe',
  'unpublish',
  'unannounce',
]);

/** True for a function or method name that takes discovery down (`stop`, `stopMonitoring`, `onClose`). */
function namesTeardownFunction(name: string): boolean {
  return TEARDOWN_NAME.test(name) || TEARDOWN_FIRST_WORDS.has(splitWords(name)[0] ?? '');
}

/** True for a callee name that takes something down (`close`, `dropMembership`, `this._stopListening`). */
export function namesTeardown(name: string): boolean {
  return (
    namesTeardownFunction(name) ||
    name === 'dropMembership' ||
    name === 'removeAllListeners' ||
    name === 'end'
  );
}

/** Roots of calls that are never discovery: parsing, files, maths, logging. */
const UNRELATED_ROOTS = new Set([
  'JSON',
  'fs',
  'fsp',
  'path',
  'Buffer',
  'Number',
  'String',
  'Math',
  'Date',
  'Object',
  'Array',
  'console',
  'util',
  'crypto',
  'url',
  'URL',
  'zlib',
  'querystring',
  'Promise',
  'Reflect',
  'Symbol',
  'require',
  'yaml',
  'YAML',
]);
const UNRELATED_WORDS = new Set([
  'parse',
  // Reading one received packet is not bringing discovery up: a malformed packet is dropped.
  'decode',
  'encode',
  'deserialize',
  'serialize',
  'unpack',
  'read',
  'write',
  'file',
  'json',
  'stringify',
  'format',
  'config',
  'render',
  'validate',
  'log',
  'logger',
  'debug',
  'info',
  'warn',
  'error',
  'metrics',
]);

/** True when a call is plainly not discovery: `JSON.parse`, `fs.readFile`, `logger.warn`. */
/** True when a method name says it reads or formats data (`decode`, `parse`), which is never discovery. */
export function namesUnrelatedWork(name: string): boolean {
  return splitWords(name).some((word) => UNRELATED_WORDS.has(word));
}

export function isUnrelatedCall(call: ts.CallExpression | ts.NewExpression): boolean {
  const names = chainNames(call.expression);
  const root = names[0];
  if (root !== undefined && UNRELATED_ROOTS.has(root)) return true;
  if (call.expression.kind === ts.SyntaxKind.ImportKeyword) return true;
  return names.some((name) => splitWords(name).some((word) => UNRELATED_WORDS.has(word)));
}
