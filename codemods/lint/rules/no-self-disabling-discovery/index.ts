import { findDeclaration, ts } from '../../../syntax/index.js';
import type { Finding } from '../../finding.js';
import { noSelfDisablingDiscoveryMeta } from './meta.js';

export { noSelfDisablingDiscoveryMeta };
import {
  ADDS_A_LISTENER,
  buildContext,
  chainNames,
  containsCall,
  enclosingDiscoveryFunction,
  functionName,
  functionsAround,
  isErrorEvent,
  keyOf,
  LISTENER_METHODS,
  listenedTo,
  namesTeardown,
  onTeardownPath,
  repliesToSender,
  START_METHODS,
} from './context.js';
import type { DiscoveryContext } from './context.js';
import { parameterlessCompletion } from './completion.js';
import { dropsTheContinuation } from './continuation.js';
import { dropsTransportError } from './transport.js';
import { alwaysExits, errorBranches, looksLikeErrorName } from './error-branches.js';
import { analyzeHandler, logLevelOf, mentions, resolveHandler, swallowingBranch } from './handler.js';
import type { Fallback, FallbackKind, HandlerVerdict } from './handler.js';
import { skipWrappers, withoutBind } from './modules.js';
import { namesDiscovery } from './names.js';
import {
  afterDiscoveryStopped,
  anyDiscoveryWork,
  keepsTheLastList,
  lookupIntoPeerCollection,
  resolvesADeferredAwaitedWithATimeout,
} from './surroundings.js';
import { callbackRunsTheStepAgain, localErrorFirstDiscovery } from './local-error-first.js';
import { fallsBackToLocalStandIn } from './local-stand-in.js';
import { failsWhenNoneSucceeded, retriedInPlace, usedRightAfter } from './loops.js';
import {
  closedAfterOneUse,
  closesSocket,
  handlesOneMessage,
  handlesOnePeer,
  listensAfterBind,
  workOnOneMember,
} from './per-message.js';
import { remadeEveryTick, repeatedOnATimer, runsEveryTick } from './periodic.js';
import { inCommandLineTool, inUserInterfaceComponent } from './user-interface.js';
import { describeCallee, findDiscoveryWork } from './work.js';

const ADVICE =
  'Propagate it (rethrow with `cause`, reject, or pass it to the callback), or move leadership and membership to ' +
  'the lease/bus (gossipless) so there is nothing to discover.';

const FALLBACK_PHRASES: Record<FallbackKind, string> = {
  leader: 'declares itself leader or standalone',
  'disable-flag': 'switches discovery off',
  'null-discovery': 'drops the discovery object',
  'clear-peers': 'empties the peer list',
  'close-discovery': 'closes the discovery socket',
  'stop-discovery': 'stops its own discovery for good',
  'single-node': 'sets the cluster size to one',
  'local-stand-in': 'falls back to a process-local stand-in',
};

/**
 * What follows on that path, said plainly: only a node that goes on as the whole cluster makes
 * split brain; one that switches its own discovery off is simply not found any more.
 */
const SPLIT_BRAIN = 'every replica that cannot reach its peers will do the same, which is split brain';
const STAYS_OFF = 'discovery stays off for the rest of the run';
const FALLBACK_OUTCOMES: Record<FallbackKind, string> = {
  leader: SPLIT_BRAIN,
  'single-node': SPLIT_BRAIN,
  'local-stand-in': 'every process that fails the same way runs alone, which is split brain',
  'disable-flag': STAYS_OFF,
  'null-discovery': STAYS_OFF,
  'close-discovery': STAYS_OFF,
  'stop-discovery': STAYS_OFF,
  'clear-peers': 'the node goes on as if it had no peers',
};

function outcomeOf(kind: FallbackKind, verdict: HandlerVerdict): string {
  const outcome = FALLBACK_OUTCOMES[kind];
  if (outcome !== STAYS_OFF) return outcome;
  return `${outcome}, and ${verdict.logLevel === undefined ? 'nothing' : 'nothing but a log line'} says so`;
}

/** What a handler is attached to, for the message: "This `catch` around `swim.bootstrap()` (swim)". */
interface Site {
  readonly subject: string;
  /** Where the finding points. */
  readonly node: ts.Node;
  /** The statement or call the handler belongs to (a timer's tick, a UI component around it). */
  readonly within?: ts.Node;
}

/**
 * Finds failure handlers around peer discovery that swallow the failure, or switch discovery off and
 * fall back to "I am alone / I am leader". A pure function of one parsed file: no type checker, no
 * file system. Findings are sorted by position.
 *
 * @example
 * ```ts
 * import { ts } from 'ts-morph';
 * const file = ts.createSourceFile('a.ts', text, ts.ScriptTarget.Latest, true);
 * for (const finding of noSelfDisablingDiscovery(file)) console.log(finding.line, finding.message);
 * ```
 */
export function noSelfDisablingDiscovery(sourceFile: ts.SourceFile): Finding[] {
  const context = buildContext(sourceFile);
  const findings: Finding[] = [];
  // One finding per site: a callback two checks read (a discovery start's, and one that drops its
  // continuation) is reported by the first.
  const reported = new Set<number>();
  const report = (site: Site, verdict: HandlerVerdict, extra?: string): void => {
    const where = site.within ?? site.node;
    if (inUserInterfaceComponent(where, sourceFile)) return;
    if (verdict.fallbacks.length === 0 && handlesOneMessage(where)) return;
    // One peer's request in a per-peer callback: `return []` there is that peer's answer, not the list emptied.
    if (
      verdict.fallbacks.length > 0 &&
      verdict.fallbacks.every((fallback) => fallback.kind === 'clear-peers') &&
      handlesOnePeer(where)
    )
      return;
    if (printsToTheCommandLine(verdict, sourceFile)) return;
    const finding = judge(site, verdict, extra, sourceFile);
    const at = site.node.getStart(sourceFile);
    if (finding && !reported.has(at)) {
      reported.add(at);
      findings.push(finding);
    }
  };

  const visit = (node: ts.Node): void => {
    if (ts.isTryStatement(node) && node.catchClause) checkTry(node, node.catchClause, context, report);
    if (ts.isCallExpression(node)) {
      const callee = skipWrappers(node.expression);
      if (ts.isPropertyAccessExpression(callee)) {
        const method = callee.name.text;
        const [first, second] = node.arguments;
        if (method === 'allSettled' && first) {
          checkDiscardedSettlement(node, callee, first, context, report);
        } else if (method === 'catch' && first && node.arguments.length === 1) {
          checkPromiseHandler(node, callee, first, '`.catch()`', context, report);
        } else if (method === 'then' && second) {
          checkPromiseHandler(node, callee, second, 'The rejection handler of `.then()`', context, report);
        } else if (ADDS_A_LISTENER.test(method) && first && second) {
          if (isErrorEvent(first)) checkErrorEvent(node, callee, second, context, report);
        }
      }
    }
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      checkStartCallback(node, context, report);
      checkDroppedContinuation(node, context, report);
    }
    if (ts.isCallExpression(node)) {
      checkParameterlessCompletion(node, context, report);
      checkTransportCallback(node, context, report);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return findings.sort((a, b) => a.line - b.line || a.column - b.column);
}

type Report = (site: Site, verdict: HandlerVerdict, extra?: string) => void;

function checkTry(
  node: ts.TryStatement,
  clause: ts.CatchClause,
  context: DiscoveryContext,
  report: Report,
): void {
  if (onTeardownPath(node) || onlyTearsDown(node.tryBlock)) return;
  if (retriedInPlace(node) || failsWhenNoneSucceeded(node, context) || usedRightAfter(node)) return;
  const standIn = fallsBackToLocalStandIn(node);
  const work =
    findDiscoveryWork(node.tryBlock, context, enclosingDiscoveryFunction(node)) ??
    afterDiscoveryStopped(node, node.tryBlock, context) ??
    lookupIntoPeerCollection(node, node.tryBlock, context) ??
    (standIn && {
      node: standIn.replaced,
      description: `\`${describeCallee(standIn.replaced, context.sourceFile)}\``,
    });
  if (!work) return;
  const repeated = repeatedOnATimer(node, work.node);
  const declaration = clause.variableDeclaration;
  const errorName = declaration && ts.isIdentifier(declaration.name) ? declaration.name.text : undefined;
  let verdict = readEachBranch(clause.block, errorName, context, enclosingFunctionOrSelf(node));
  if (
    standIn &&
    swallows(verdict) &&
    !verdict.fallbacks.some((fallback) => fallback.kind === 'local-stand-in')
  ) {
    verdict = {
      ...verdict,
      fallbacks: [
        ...verdict.fallbacks,
        { kind: 'local-stand-in', node: standIn.node, snippet: standIn.node.getText(context.sourceFile) },
      ],
    };
  }
  if (keepsTheLastList(node, verdict)) return;
  // Logged or dropped for one member of a loop (a provider, a router, a found device): not discovery's.
  if (verdict.fallbacks.length === 0 && workOnOneMember(work.node)) return;
  // Logged, and the same call is made again on a timer the function sets up.
  if (repeated && verdict.fallbacks.length === 0 && verdict.logLevel !== undefined) return;
  report({ subject: `This \`catch\` around ${work.description}`, node: clause, within: node }, verdict);
}

function checkPromiseHandler(
  call: ts.CallExpression,
  callee: ts.PropertyAccessExpression,
  handlerExpression: ts.Expression,
  what: string,
  context: DiscoveryContext,
  report: Report,
): void {
  if (onTeardownPath(call) || startsWithTeardown(callee.expression)) return;
  const work =
    findDiscoveryWork(callee.expression, context, enclosingDiscoveryFunction(call)) ??
    afterDiscoveryStopped(call, callee.expression, context) ??
    lookupIntoPeerCollection(call, callee.expression, context);
  if (!work) return;
  const handler = resolveHandler(handlerExpression, context);
  if (!handler) return;
  if (resolvesADeferredAwaitedWithATimeout(callee.expression, context)) return;
  const subject = what.startsWith('`')
    ? `This ${what} on ${work.description}`
    : `${what} on ${work.description}`;
  const verdict = verdictOf(handler, context, call);
  if (keepsTheLastList(call, verdict)) return;
  report({ subject, node: siteFrom(callee.name, call), within: call }, verdict);
}

/**
 * `await Promise.allSettled(sockets.map(open))` whose result nobody reads: every rejection is
 * dropped. When the settled promises do discovery work (bind, join a multicast group), a socket
 * that failed is simply missing, and nothing hears of it while any other one opened.
 */
function checkDiscardedSettlement(
  call: ts.CallExpression,
  callee: ts.PropertyAccessExpression,
  argument: ts.Expression,
  context: DiscoveryContext,
  report: Report,
): void {
  const receiver = skipWrappers(callee.expression);
  if (!ts.isIdentifier(receiver) || receiver.text !== 'Promise') return;
  let outer: ts.Node = call;
  while (ts.isParenthesizedExpression(outer.parent) || ts.isAwaitExpression(outer.parent))
    outer = outer.parent;
  if (!ts.isExpressionStatement(outer.parent) && !ts.isVoidExpression(outer.parent)) return;
  if (onTeardownPath(call)) return;
  const work = anyDiscoveryWork(argument, context);
  if (!work) return;
  report(
    {
      subject: `This \`Promise.allSettled()\` over ${work.description}`,
      node: siteFrom(callee.name, call),
      within: call,
    },
    SILENT,
    'drops every rejection: its results are never read, so a discovery step that failed is neither reported nor retried',
  );
}

function checkErrorEvent(
  call: ts.CallExpression,
  callee: ts.PropertyAccessExpression,
  handlerExpression: ts.Expression,
  context: DiscoveryContext,
  report: Report,
): void {
  const emitter = chainedEmitter(callee.expression);
  if (onTeardownPath(call) || !context.isDiscoveryObject(emitter)) return;
  const handler = resolveHandler(handlerExpression, context);
  if (!handler) return;
  const module = context.originOf(emitter);
  const label = module
    ? ` (${module.kind === 'dgram' ? 'dgram socket used for multicast/peer discovery' : module.name})`
    : '';
  const text = emitter.getText(context.sourceFile).replace(/\s+/g, '');
  const shown = text.length > 50 ? `${text.slice(0, 49)}…` : text;
  const site = {
    subject: `This 'error' handler on \`${shown}\`${label}`,
    node: siteFrom(callee.name, call),
    within: call,
  };
  const closesForARestartOrAfterOneUse = (verdict: HandlerVerdict): boolean =>
    verdict.fallbacks.length > 0 &&
    verdict.fallbacks.every((fallback) => fallback.kind === 'close-discovery') &&
    // Closed after one use as on success, or made again on the next tick of the timer that made it.
    (closedAfterOneUse(call, emitter, handlerExpression) || remadeEveryTick(call, context.sourceFile));
  if (handler.kind === 'body' && handler.declaresNoParameter) {
    // A listener that never takes the error cannot hand it on: removing the socket from a list or
    // carrying on with the others is not surfacing it (an emitted event or a rejection still is).
    const verdict = analyzeHandler(handler.body, undefined, context, enclosingFunctionOrSelf(call), {
      unknownCallsHandle: false,
    });
    if (closesForARestartOrAfterOneUse(verdict)) return;
    if (swallows(verdict) && verdict.fallbacks.length === 0) {
      report(site, verdict, 'swallows the failure: it declares no error parameter, so the error is dropped');
    } else report(site, verdict);
    return;
  }
  const verdict = verdictOf(handler, context, call);
  if (verdict.fallbacks.length === 0 && listensAfterBind(call, emitter)) return;
  if (closesForARestartOrAfterOneUse(verdict)) return;
  report(site, verdict);
}

/**
 * `const socket = dgram.createSocket(…).once('listening', …).on('error', …)`: the listener is added
 * to what the chain started from, and the variable the chain is assigned to names it. Anything else
 * is its own emitter.
 */
function chainedEmitter(receiver: ts.Expression): ts.Expression {
  let start = skipWrappers(receiver);
  while (
    ts.isCallExpression(start) &&
    ts.isPropertyAccessExpression(start.expression) &&
    // EventEmitter's listener methods return the emitter, so listeners can be chained.
    (LISTENER_METHODS.has(start.expression.name.text) || start.expression.name.text === 'setMaxListeners')
  ) {
    start = skipWrappers(start.expression.expression);
  }
  if (start === skipWrappers(receiver) || !ts.isCallExpression(start)) return start;
  let top: ts.Node = receiver;
  while (
    (ts.isPropertyAccessExpression(top.parent) && top.parent.expression === top) ||
    (ts.isCallExpression(top.parent) && top.parent.expression === top)
  ) {
    top = top.parent;
  }
  const holder = top.parent;
  return ts.isVariableDeclaration(holder) && holder.initializer === top && ts.isIdentifier(holder.name)
    ? holder.name
    : start;
}

/** Methods of a discovery object that put a packet on the wire and call back with its send's error. */
const ANNOUNCING_METHODS = new Set(['query', 'respond', 'announce']);

/**
 * Error-first start callbacks: `Discover(opts, (err) => …)`, `swim.bootstrap(hosts, cb)`,
 * `ringpop.bootstrap(nodes, cb)`, `gossip.start((err) => …)`.
 */
function checkStartCallback(
  call: ts.CallExpression | ts.NewExpression,
  context: DiscoveryContext,
  report: Report,
): void {
  const fn = lastCallbackFunction(call);
  if (!fn) return;
  const callee = skipWrappers(call.expression);
  const module = context.originOf(callee);
  let knownErrorFirst = false;
  let failure = 'a failed start is ignored';
  /**
   * Announcements repeat: one that fails and is logged is sent again next round. Only a callback
   * that drops the error unread (no parameter, never read, only the success path) is reported.
   */
  let onlyOmissions = false;
  // A function of this file that hands its failure to this callback: admitted by its own code,
  // and (like an announcement) reported only when the callback drops the error unread.
  const admitByCallee = (): boolean => {
    const name = localErrorFirstDiscovery(call, fn, context);
    // One peer's request in a per-member loop (`relayMembers.forEach(…)`) is that peer's answer.
    if (
      name === undefined ||
      onTeardownPath(call) ||
      handlesOnePeer(call) ||
      callbackRunsTheStepAgain(call, fn, context)
    )
      return false;
    knownErrorFirst = true;
    onlyOmissions = true;
    failure = `a failed \`${name}\` is dropped`;
    return true;
  };
  if (ts.isPropertyAccessExpression(callee)) {
    const method = callee.name.text;
    if (/^(on|once|addListener|prependListener|prependOnceListener|then|catch|finally)$/.test(method)) return;
    if (
      module?.kind !== 'dgram' &&
      ANNOUNCING_METHODS.has(method) &&
      !onTeardownPath(call) &&
      context.isDiscoveryObject(callee.expression)
    ) {
      // mDNS's `query(q, cb)` / `respond(r, cb)`: the callback is the send's, error-first.
      knownErrorFirst = true;
      onlyOmissions = true;
      failure = `a failed ${method === 'query' ? 'query' : 'announcement'} is dropped`;
    } else if (module?.kind === 'membership') {
      // Its start, or any other request whose callback is error-first by its first parameter
      // (`zk.getChildren(path, watch, (error, children) => …)`, `consul.session.create(cb)`).
      if (!START_METHODS.has(method)) {
        const [first] = fn.parameters;
        if (!first || !ts.isIdentifier(first.name) || !looksLikeErrorName(first.name.text)) return;
        if (onTeardownPath(call)) return;
        failure = 'a failed request is ignored';
      } else knownErrorFirst = module.errorFirstStart;
    } else if (module?.kind === 'dgram') {
      // bind's callback is a 'listening' callback; failures arrive as 'error' events. send's is
      // error-first: on a discovery socket, a send that is not a reply to one sender announces
      // this node, and a callback that ignores its error drops a failed announcement.
      if (
        method !== 'send' ||
        !ts.isCallExpression(call) ||
        repliesToSender(call) ||
        onTeardownPath(call) ||
        !context.isDiscoveryObject(callee.expression)
      )
        return;
      // A socket made for one message, closed in its send's callback once the error is read: one
      // command's trouble. (A callback that never takes the error still drops it.)
      const [sendError] = fn.parameters;
      if (
        sendError &&
        ts.isIdentifier(sendError.name) &&
        mentions(fn.body, sendError.name.text) &&
        closesSocket(fn.body, callee.expression)
      )
        return;
      knownErrorFirst = true;
      // A socket a timer's tick sends on sends again next round; a one-shot send (a scan's single
      // M-SEARCH) is not repeated, so a failure it only logs is the scan's answer.
      // A send helper (`Networking.prototype.send`) is the transport its callers repeat or not.
      onlyOmissions = sentOnEveryTick(call, callee.expression, context.sourceFile) || inSendHelper(call);
      failure = 'a failed announcement is dropped';
    } else if (
      !namesDiscovery(method) &&
      !(START_METHODS.has(method) && context.isDiscoveryObject(callee.expression)) &&
      !admitByCallee()
    ) {
      return;
    }
  } else if (ts.isIdentifier(callee)) {
    const binding = context.bindings.get(callee.text);
    if (module?.kind === 'membership' && binding) {
      // The module itself called or constructed: node-discover's `Discover(opts, cb)`.
      if (
        binding.imported !== 'default' &&
        binding.imported !== 'namespace' &&
        binding.imported !== 'Discover'
      )
        return;
      knownErrorFirst = module.errorFirstStart;
    } else if (!namesDiscovery(callee.text) && !admitByCallee()) {
      return;
    }
  } else {
    return;
  }

  // `ext.discover(opts, function noop() {})`: an empty callback with no parameter, handed to a
  // discovery call as its completion, is there to drop the outcome, failure included.
  if (!knownErrorFirst && fn.parameters.length === 0 && isEmptyFunction(fn)) {
    knownErrorFirst = true;
    failure = 'a failed discovery call is dropped';
  }
  const described = describeCallee(call, context.sourceFile);
  const label = module?.kind === 'membership' ? ` (${module.name})` : '';
  const subject = `The callback of \`${described}\`${label}`;
  const site: Site = { subject, node: fn, within: call };
  const [first] = fn.parameters;
  if (!first) {
    if (knownErrorFirst) report(site, SILENT, `declares no error parameter, so ${failure} by omission`);
    return;
  }
  if (!ts.isIdentifier(first.name)) return;
  const errorName = first.name.text;
  if (!knownErrorFirst && !looksLikeErrorName(errorName)) return;
  if (!mentions(fn.body, errorName)) {
    report(site, SILENT, `never reads its error parameter \`${errorName}\`, so ${failure}`);
    return;
  }
  const branches = errorBranches(fn.body, errorName);
  if (branches === 'ignored') {
    report(site, SILENT, `only acts when \`${errorName}\` is absent, so ${failure}`);
    return;
  }
  // Each failure branch on its own: one that hands the error to a callback does not excuse
  // another that logs it and carries on.
  const verdicts = (branches.length > 0 ? branches : [fn.body]).map((branch) =>
    fallingThrough(branch, errorName, context, fn),
  );
  if (onlyOmissions) {
    // A repeated send that logs its failure is sent again next round; one that stops the rounds
    // (`self.stop()`) leaves discovery off.
    const stopping = verdicts.find((verdict) => verdict.fallbacks.length > 0);
    if (stopping) report(site, stopping);
    return;
  }
  report(
    site,
    verdicts.find((verdict) => verdict.fallbacks.length > 0) ?? verdicts.find(swallows) ?? verdicts[0]!,
  );
}

/**
 * Any call's error-first callback whose failure branch returns without reading the error and
 * without calling the continuation its success path calls (`if (err) return; … next(peers)`),
 * when the continuation comes from a function that supplies peers: the caller waits for ever.
 */
function checkDroppedContinuation(
  call: ts.CallExpression | ts.NewExpression,
  context: DiscoveryContext,
  report: Report,
): void {
  const fn = lastCallbackFunction(call);
  if (!fn || onTeardownPath(call)) return;
  const dropped = dropsTheContinuation(fn, context);
  if (!dropped) return;
  report(
    { subject: `The callback of \`${describeCallee(call, context.sourceFile)}\``, node: fn },
    SILENT,
    `returns on \`${dropped.errorName}\` without reading it and without calling \`${dropped.continuation}\`, ` +
      'which its success path calls: the failure is dropped and whoever waits for the peers waits for ever',
  );
}

/**
 * `this.onAnnounced.bind(this)` handed on as the completion callback of an announcement, resolved
 * to a method that takes no parameter: the send's error never reaches it. Reported where the
 * method is declared, once however many calls hand it on.
 */
function checkParameterlessCompletion(
  call: ts.CallExpression,
  context: DiscoveryContext,
  report: Report,
): void {
  if (onTeardownPath(call)) return;
  const completion = parameterlessCompletion(call, context);
  if (!completion) return;
  report(
    {
      subject: `The method \`${completion.name}\`, passed by \`${completion.from}\` as the completion callback of \`${describeCallee(call, context.sourceFile)}\`,`,
      node: completion.declaration,
    },
    SILENT,
    'declares no error parameter, so a failed announcement is dropped by omission',
  );
}

/**
 * `socket.bind(endpoint, () => resolve())` on a socket of a transport whose bind calls back
 * error-first (zeromq 5), in a class or file that holds peers: a failed bind starts the node anyway.
 */
function checkTransportCallback(call: ts.CallExpression, context: DiscoveryContext, report: Report): void {
  const fn = lastCallbackFunction(call);
  if (!fn || onTeardownPath(call)) return;
  const dropped = dropsTransportError(call, fn, context.sourceFile);
  if (!dropped) return;
  const how =
    dropped.errorName === undefined
      ? 'declares no error parameter'
      : `never reads its error parameter \`${dropped.errorName}\``;
  report(
    {
      subject: `The callback of \`${describeCallee(call, context.sourceFile)}\` (${dropped.module})`,
      node: fn,
    },
    SILENT,
    `${how}, so a failed bind is dropped by omission and peers are told of an endpoint nobody listens on`,
  );
}

/** Inside a function named for sending (`send`, `sendPacket`, `writeMessage`): a transport helper. */
function inSendHelper(call: ts.Node): boolean {
  for (const fn of functionsAround(call)) {
    const name = functionName(fn);
    if (name !== undefined && /^_?(send|write|transmit)([A-Z]\w*)?$/.test(name)) return true;
  }
  return false;
}

/**
 * The same message is sent on the same socket (`this.socket`, `self.socket` alike) on a timer's
 * tick in this file: a one-off `pingOnce()` of the beacon's packet is sent again next round, but a
 * scan's query beside a heartbeat's announcement is not.
 */
function sentOnEveryTick(call: ts.CallExpression, socket: ts.Expression, sourceFile: ts.SourceFile): boolean {
  const key = keyOf(socket);
  const message = call.arguments[0];
  if (key === undefined || message === undefined) return false;
  return tickedSends(sourceFile).get(key)?.has(messageMadeBy(message, sourceFile)) ?? false;
}

/** What a sent message is made of: `packet` declared as `createQuery(…)` reads as that call. */
function messageMadeBy(message: ts.Expression, sourceFile: ts.SourceFile): string {
  const expression = skipWrappers(message);
  if (ts.isIdentifier(expression)) {
    const declaration = findDeclaration(expression, expression.text);
    if (declaration && ts.isVariableDeclaration(declaration) && declaration.initializer)
      return skipWrappers(declaration.initializer).getText(sourceFile);
  }
  return expression.getText(sourceFile);
}

const tickedSendsByFile = new WeakMap<ts.SourceFile, ReadonlyMap<string, ReadonlySet<string>>>();

/**
 * The receivers (by key) of every `x.send(message, …)` in the file that runs on a timer's tick,
 * with the messages sent on each: one walk per file.
 */
function tickedSends(sourceFile: ts.SourceFile): ReadonlyMap<string, ReadonlySet<string>> {
  let sends = tickedSendsByFile.get(sourceFile);
  if (sends === undefined) {
    const found = new Map<string, Set<string>>();
    containsCall(sourceFile, (name, call) => {
      const callee = skipWrappers(call.expression);
      const [message] = call.arguments;
      if (
        name === 'send' &&
        message !== undefined &&
        ts.isPropertyAccessExpression(callee) &&
        runsEveryTick(call, sourceFile)
      ) {
        const key = keyOf(callee.expression);
        if (key !== undefined) {
          const messages = found.get(key) ?? new Set<string>();
          messages.add(messageMadeBy(message, sourceFile));
          found.set(key, messages);
        }
      }
      return false;
    });
    sends = found;
    tickedSendsByFile.set(sourceFile, sends);
  }
  return sends;
}

/**
 * A failure branch read with what runs after it: `if (err) { log(err) } cb(err)` logs and then
 * hands the error on, because the branch does not leave the function.
 */
function fallingThrough(
  branch: ts.Node,
  errorName: string,
  context: DiscoveryContext,
  fn: ts.FunctionLikeDeclaration,
): HandlerVerdict {
  const own = analyzeHandler(branch, errorName, context, fn);
  const statement = branch.parent;
  if (!ts.isIfStatement(statement) || !ts.isBlock(statement.parent) || alwaysExits(branch as ts.Statement))
    return own;
  const following = statement.parent.statements.slice(statement.parent.statements.indexOf(statement) + 1);
  const rest = following.map((node) => analyzeHandler(node, errorName, context, fn));
  // Only handing the error on counts: `if (err) log(err); app.listen()` still starts without it.
  return { ...own, propagates: own.propagates || rest.some((verdict) => verdict.propagates) };
}

/** The call's last argument when it is a function written there (`.bind(this)` allowed): its callback. */
function lastCallbackFunction(
  call: ts.CallExpression | ts.NewExpression,
): ts.ArrowFunction | ts.FunctionExpression | undefined {
  const args = call.arguments ?? [];
  const callback = args[args.length - 1];
  if (!callback) return undefined;
  const fn = withoutBind(callback);
  return ts.isArrowFunction(fn) || ts.isFunctionExpression(fn) ? fn : undefined;
}

/** A command-line tool that prints the failure at warn or error level and does nothing else has told its user. */
function printsToTheCommandLine(verdict: HandlerVerdict, sourceFile: ts.SourceFile): boolean {
  return (
    verdict.fallbacks.length === 0 &&
    (verdict.logLevel === 'warn' || verdict.logLevel === 'error') &&
    inCommandLineTool(sourceFile)
  );
}

/** True when a verdict, on its own, would be reported as swallowing the failure. */
function swallows(verdict: HandlerVerdict): boolean {
  return !verdict.propagates && !verdict.doesOtherWork && verdict.retry !== 'bounded';
}

const SILENT: HandlerVerdict = {
  fallbacks: [],
  propagates: false,
  doesOtherWork: false,
  retry: 'none',
  logLevel: undefined,
  empty: true,
};

function verdictOf(
  handler: NonNullable<ReturnType<typeof resolveHandler>>,
  context: DiscoveryContext,
  site: ts.Node,
): HandlerVerdict {
  if (handler.kind === 'noop-reference') return SILENT;
  if (handler.kind === 'log-reference') return { ...SILENT, empty: false, logLevel: handler.level };
  return readEachBranch(handler.body, handler.errorName, context, enclosingFunctionOrSelf(site));
}

/** The handler's verdict, or, when it handles the failure only on some paths, the path that only logs. */
function readEachBranch(
  body: ts.Node,
  errorName: string | undefined,
  context: DiscoveryContext,
  boundSearchRoot: ts.Node,
): HandlerVerdict {
  const whole = analyzeHandler(body, errorName, context, boundSearchRoot);
  if (swallows(whole) || whole.fallbacks.length > 0) return whole;
  return swallowingBranch(body, errorName, context, boundSearchRoot) ?? whole;
}

/**
 * A `try` whose every call takes something down (`socket.dropMembership(…)`, `socket.close()`):
 * a failure there leaves nothing running that could be switched off.
 */
function onlyTearsDown(block: ts.Block): boolean {
  let calls = 0;
  let teardowns = 0;
  const visit = (node: ts.Node): void => {
    // A log line beside the teardown (`browser.stop(); debug('closed')`) takes nothing up, and
    // `devices.forEach((d) => d.stop())` is as many teardowns as its callback holds.
    if (ts.isCallExpression(node) && logLevelOf(node) === undefined) {
      const names = chainNames(node.expression);
      const name = names[names.length - 1] ?? '';
      if (!ITERATION_METHODS.has(name)) {
        calls += 1;
        if (namesTeardown(name) || TIMER_CLEARING.has(name)) teardowns += 1;
      }
    }
    if (!ts.isFunctionLike(node) || isIterationCallback(node)) ts.forEachChild(node, visit);
  };
  visit(block);
  return calls > 0 && calls === teardowns;
}

const ITERATION_METHODS = new Set(['forEach', 'map']);
const TIMER_CLEARING = new Set(['clearInterval', 'clearTimeout', 'clearImmediate']);

/** The callback of `list.forEach(…)`: run now, once per element, inside the `try`. */
function isIterationCallback(node: ts.Node): boolean {
  const listened = listenedTo(node);
  return listened !== undefined && ITERATION_METHODS.has(listened.method);
}

/** A promise chain that starts by taking something down: `this.stop().catch(…)`. */
function startsWithTeardown(receiver: ts.Expression): boolean {
  let current = skipWrappers(receiver);
  for (;;) {
    if (!ts.isCallExpression(current)) return false;
    const callee = skipWrappers(current.expression);
    if (ts.isPropertyAccessExpression(callee) && /^(then|catch|finally)$/.test(callee.name.text)) {
      current = skipWrappers(callee.expression);
      continue;
    }
    const names = chainNames(callee);
    return namesTeardown(names[names.length - 1] ?? '');
  }
}

/** Where a retry bound may be written: the function around the handler (`if (attempt < max)`). */
function enclosingFunctionOrSelf(node: ts.Node): ts.Node {
  for (let current: ts.Node | undefined = node.parent; current; current = current.parent) {
    if (ts.isFunctionLike(current)) return current;
  }
  return node.getSourceFile();
}

/** A node spanning from `start` to the end of `whole`, for `.catch(` … `)` sites. */
function siteFrom(start: ts.Node, whole: ts.Node): ts.Node {
  return { getStart: () => start.getStart(), getEnd: () => whole.getEnd() } as unknown as ts.Node;
}

function judge(
  site: Site,
  verdict: HandlerVerdict,
  extra: string | undefined,
  sourceFile: ts.SourceFile,
): Finding | undefined {
  const start = sourceFile.getLineAndCharacterOfPosition(site.node.getStart(sourceFile));
  const end = sourceFile.getLineAndCharacterOfPosition(site.node.getEnd());
  const at = {
    ruleId: noSelfDisablingDiscoveryMeta.id,
    line: start.line + 1,
    column: start.character + 1,
    endLine: end.line + 1,
    endColumn: end.character + 1,
  };
  const [fallback] = verdict.fallbacks;
  if (fallback) {
    return {
      ...at,
      severity: 'error',
      message: `${site.subject} swallows the failure and ${describeFallback(fallback, sourceFile)}: ${outcomeOf(fallback.kind, verdict)}. ${ADVICE}`,
    };
  }
  if (extra !== undefined)
    return { ...at, severity: 'warning', message: `${site.subject} ${extra}. ${ADVICE}` };
  if (verdict.propagates || verdict.doesOtherWork || verdict.retry === 'bounded') return undefined;
  // On a timer's tick, logged or not: the next tick does the work again (a renewal, a heartbeat).
  if (site.within && runsEveryTick(site.within, sourceFile)) return undefined;
  let how: string;
  if (verdict.retry === 'unbounded')
    how =
      verdict.logLevel === undefined
        ? 'it retries without a bound and never surfaces it'
        : `it logs it${verdict.logLevel === 'error' ? '' : ` at ${verdict.logLevel} level`} and retries without a bound, and nothing but the log hears of it`;
  else if (verdict.logLevel === undefined)
    how = verdict.empty ? 'the handler is empty' : 'nothing is propagated';
  else if (verdict.logLevel === 'error') how = 'it only logs it and carries on';
  else how = `it only logs it at ${verdict.logLevel} level and carries on`;
  return { ...at, severity: 'warning', message: `${site.subject} swallows the failure: ${how}. ${ADVICE}` };
}

function describeFallback(fallback: Fallback, sourceFile: ts.SourceFile): string {
  const line = sourceFile.getLineAndCharacterOfPosition(fallback.node.getStart(sourceFile)).line + 1;
  return `${FALLBACK_PHRASES[fallback.kind]} (\`${fallback.snippet}\`, line ${line})`;
}

/** `() => {}`, `function noop() {}`: a function that does nothing. */
function isEmptyFunction(fn: ts.ArrowFunction | ts.FunctionExpression): boolean {
  return ts.isBlock(fn.body) && fn.body.statements.length === 0;
}
