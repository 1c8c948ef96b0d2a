import { ts } from '../../../syntax/index.js';
import type { Finding } from '../../finding.js';
import { noSelfDisablingDiscoveryMeta } from './meta.js';

export { noSelfDisablingDiscoveryMeta };
import {
  buildContext,
  chainNames,
  enclosingDiscoveryFunction,
  namesTeardown,
  onTeardownPath,
  repliesToSender,
  START_METHODS,
} from './context.js';
import type { DiscoveryContext } from './context.js';
import { analyzeHandler, mentions, resolveHandler } from './handler.js';
import type { Fallback, FallbackKind, HandlerVerdict } from './handler.js';
import { skipWrappers } from './modules.js';
import { namesDiscovery } from './names.js';
import {
  afterDiscoveryStopped,
  anyDiscoveryWork,
  keepsTheLastList,
  resolvesADeferredAwaitedWithATimeout,
} from './surroundings.js';
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
  'single-node': 'sets the cluster size to one',
};

/** What a handler is attached to, for the message: "This `catch` around `swim.bootstrap()` (swim)". */
interface Site {
  readonly subject: string;
  /** Where the finding points. */
  readonly node: ts.Node;
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
  const report = (site: Site, verdict: HandlerVerdict, extra?: string): void => {
    const finding = judge(site, verdict, extra, sourceFile);
    if (finding) findings.push(finding);
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
        } else if (
          /^(on|once|addListener|prependListener|prependOnceListener)$/.test(method) &&
          first &&
          second
        ) {
          if (isErrorEvent(first)) checkErrorEvent(node, callee, second, context, report);
        }
      }
    }
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) checkStartCallback(node, context, report);
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
  const work =
    findDiscoveryWork(node.tryBlock, context, enclosingDiscoveryFunction(node)) ??
    afterDiscoveryStopped(node, node.tryBlock, context);
  if (!work) return;
  const declaration = clause.variableDeclaration;
  const errorName = declaration && ts.isIdentifier(declaration.name) ? declaration.name.text : undefined;
  const verdict = analyzeHandler(clause.block, errorName, context, enclosingFunctionOrSelf(node));
  if (keepsTheLastList(node, verdict)) return;
  report({ subject: `This \`catch\` around ${work.description}`, node: clause }, verdict);
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
    afterDiscoveryStopped(call, callee.expression, context);
  if (!work) return;
  const handler = resolveHandler(handlerExpression, context);
  if (!handler) return;
  if (resolvesADeferredAwaitedWithATimeout(callee.expression, context)) return;
  const subject = what.startsWith('`')
    ? `This ${what} on ${work.description}`
    : `${what} on ${work.description}`;
  const verdict = verdictOf(handler, context, call);
  if (keepsTheLastList(call, verdict)) return;
  report({ subject, node: siteFrom(callee.name, call) }, verdict);
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
    { subject: `This \`Promise.allSettled()\` over ${work.description}`, node: siteFrom(callee.name, call) },
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
  const emitter = callee.expression;
  if (onTeardownPath(call) || !context.isDiscoveryObject(emitter)) return;
  const handler = resolveHandler(handlerExpression, context);
  if (!handler) return;
  const module = context.originOf(emitter);
  const label = module
    ? ` (${module.kind === 'dgram' ? 'dgram socket used for multicast/peer discovery' : module.name})`
    : '';
  const text = emitter.getText(context.sourceFile).replace(/\s+/g, '');
  const shown = text.length > 50 ? `${text.slice(0, 49)}…` : text;
  const site = { subject: `This 'error' handler on \`${shown}\`${label}`, node: siteFrom(callee.name, call) };
  if (handler.kind === 'body' && handler.declaresNoParameter) {
    // A listener that never takes the error cannot hand it on: removing the socket from a list or
    // carrying on with the others is not surfacing it (an emitted event or a rejection still is).
    const verdict = analyzeHandler(handler.body, undefined, context, enclosingFunctionOrSelf(call), {
      unknownCallsHandle: false,
    });
    if (swallows(verdict) && verdict.fallbacks.length === 0) {
      report(site, verdict, 'swallows the failure: it declares no error parameter, so the error is dropped');
    } else report(site, verdict);
    return;
  }
  report(site, verdictOf(handler, context, call));
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
  const args = call.arguments ?? [];
  const callback = args[args.length - 1];
  if (!callback) return;
  const fn = boundFunction(skipWrappers(callback));
  if (!ts.isArrowFunction(fn) && !ts.isFunctionExpression(fn)) return;
  const callee = skipWrappers(call.expression);
  const module = context.originOf(callee);
  let knownErrorFirst = false;
  let failure = 'a failed start is ignored';
  /**
   * Announcements repeat: one that fails and is logged is sent again next round. Only a callback
   * that drops the error unread (no parameter, never read, only the success path) is reported.
   */
  let onlyOmissions = false;
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
      if (!START_METHODS.has(method)) return;
      knownErrorFirst = module.errorFirstStart;
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
      knownErrorFirst = true;
      onlyOmissions = true;
      failure = 'a failed announcement is dropped';
    } else if (
      !namesDiscovery(method) &&
      !(START_METHODS.has(method) && context.isDiscoveryObject(callee.expression))
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
    } else if (!namesDiscovery(callee.text)) {
      return;
    }
  } else {
    return;
  }

  const described = describeCallee(call, context.sourceFile);
  const label = module?.kind === 'membership' ? ` (${module.name})` : '';
  const subject = `The callback of \`${described}\`${label}`;
  const site: Site = { subject, node: fn };
  const [first] = fn.parameters;
  if (!first) {
    if (knownErrorFirst) report(site, SILENT, `declares no error parameter, so ${failure} by omission`);
    return;
  }
  if (!ts.isIdentifier(first.name)) return;
  const errorName = first.name.text;
  const looksLikeError =
    /^_?(e|er|err|error|ex|exception)$/i.test(errorName) || /(Err|Error)$/.test(errorName);
  if (!knownErrorFirst && !looksLikeError) return;
  if (!mentions(fn.body, errorName)) {
    report(site, SILENT, `never reads its error parameter \`${errorName}\`, so ${failure}`);
    return;
  }
  const branches = errorBranches(fn.body, errorName);
  if (branches === 'ignored') {
    report(site, SILENT, `only acts when \`${errorName}\` is absent, so ${failure}`);
    return;
  }
  if (onlyOmissions) return;
  // Each failure branch on its own: one that hands the error to a callback does not excuse
  // another that logs it and carries on.
  const verdicts = (branches.length > 0 ? branches : [fn.body]).map((branch) =>
    analyzeHandler(branch, errorName, context, fn),
  );
  report(
    site,
    verdicts.find((verdict) => verdict.fallbacks.length > 0) ?? verdicts.find(swallows) ?? verdicts[0]!,
  );
}

/** `function () { … }.bind(this)` → the function; anything else as it is. */
function boundFunction(expression: ts.Expression): ts.Expression {
  if (
    ts.isCallExpression(expression) &&
    ts.isPropertyAccessExpression(expression.expression) &&
    expression.expression.name.text === 'bind'
  ) {
    const target = skipWrappers(expression.expression.expression);
    if (ts.isArrowFunction(target) || ts.isFunctionExpression(target)) return target;
  }
  return expression;
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

/**
 * The parts of an error-first callback that run on failure: the `then` of each `if (err)`, the
 * `else` of `if (!err)`; empty when the body tests the error no way it can read (judge it whole);
 * `'ignored'` when only the success path is written (`if (!err) { … }`).
 */
function errorBranches(body: ts.Node, errorName: string): ts.Node[] | 'ignored' {
  if (!ts.isBlock(body)) return [];
  const branches: ts.Node[] = [];
  for (const statement of body.statements) {
    if (!ts.isIfStatement(statement)) continue;
    const test = testsError(statement.expression, errorName);
    if (test === 'present') {
      branches.push(statement.thenStatement);
    } else if (test === 'absent') {
      if (statement.elseStatement) branches.push(statement.elseStatement);
      // `if (!err && hosts.length > 0) return done(hosts);` — what follows runs on failure too.
      else if (alwaysExits(statement.thenStatement)) return [];
      else if (branches.length === 0) return 'ignored';
    }
  }
  return branches;
}

/** True when `statement` ends by leaving the function (`return`, `throw`). */
function alwaysExits(statement: ts.Statement): boolean {
  const last = ts.isBlock(statement) ? statement.statements[statement.statements.length - 1] : statement;
  return last !== undefined && (ts.isReturnStatement(last) || ts.isThrowStatement(last));
}

function testsError(condition: ts.Expression, errorName: string): 'present' | 'absent' | undefined {
  const expression = skipWrappers(condition);
  const isError = (node: ts.Expression): boolean => {
    const inner = skipWrappers(node);
    return ts.isIdentifier(inner) && inner.text === errorName;
  };
  if (isError(expression)) return 'present';
  if (ts.isPrefixUnaryExpression(expression) && expression.operator === ts.SyntaxKind.ExclamationToken) {
    const inner = testsError(expression.operand, errorName);
    return inner === 'present' ? 'absent' : inner === 'absent' ? 'present' : undefined;
  }
  if (ts.isBinaryExpression(expression)) {
    const kind = expression.operatorToken.kind;
    if (kind === ts.SyntaxKind.InstanceOfKeyword && isError(expression.left)) return 'present';
    if (kind === ts.SyntaxKind.AmpersandAmpersandToken || kind === ts.SyntaxKind.BarBarToken) {
      return testsError(expression.left, errorName) ?? testsError(expression.right, errorName);
    }
    const nullish = (node: ts.Expression): boolean => {
      const inner = skipWrappers(node);
      return (
        inner.kind === ts.SyntaxKind.NullKeyword || (ts.isIdentifier(inner) && inner.text === 'undefined')
      );
    };
    const comparesError =
      (isError(expression.left) && nullish(expression.right)) ||
      (isError(expression.right) && nullish(expression.left));
    if (!comparesError) return undefined;
    if (
      kind === ts.SyntaxKind.ExclamationEqualsToken ||
      kind === ts.SyntaxKind.ExclamationEqualsEqualsToken
    ) {
      return 'present';
    }
    if (kind === ts.SyntaxKind.EqualsEqualsToken || kind === ts.SyntaxKind.EqualsEqualsEqualsToken)
      return 'absent';
  }
  return undefined;
}

function verdictOf(
  handler: NonNullable<ReturnType<typeof resolveHandler>>,
  context: DiscoveryContext,
  site: ts.Node,
): HandlerVerdict {
  if (handler.kind === 'noop-reference') return SILENT;
  if (handler.kind === 'log-reference') return { ...SILENT, empty: false, logLevel: handler.level };
  return analyzeHandler(handler.body, handler.errorName, context, enclosingFunctionOrSelf(site));
}

/**
 * A `try` whose every call takes something down (`socket.dropMembership(…)`, `socket.close()`):
 * a failure there leaves nothing running that could be switched off.
 */
function onlyTearsDown(block: ts.Block): boolean {
  let calls = 0;
  let teardowns = 0;
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      calls += 1;
      const names = chainNames(node.expression);
      if (namesTeardown(names[names.length - 1] ?? '')) teardowns += 1;
    }
    if (!ts.isFunctionLike(node)) ts.forEachChild(node, visit);
  };
  visit(block);
  return calls > 0 && calls === teardowns;
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

function isErrorEvent(argument: ts.Expression): boolean {
  const expression = skipWrappers(argument);
  if (ts.isStringLiteralLike(expression)) return expression.text === 'error';
  if (ts.isPropertyAccessExpression(expression)) return /^(error|Error|ERROR)$/.test(expression.name.text);
  return false;
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
      message: `${site.subject} swallows the failure and ${describeFallback(fallback, sourceFile)}: every replica that cannot reach its peers will do the same, which is split brain. ${ADVICE}`,
    };
  }
  if (extra !== undefined)
    return { ...at, severity: 'warning', message: `${site.subject} ${extra}. ${ADVICE}` };
  if (verdict.propagates || verdict.doesOtherWork || verdict.retry === 'bounded') return undefined;
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
