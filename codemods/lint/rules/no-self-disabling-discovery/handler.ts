import { findDeclaration, ts } from '../../../syntax/index.js';
import {
  ADDS_A_LISTENER,
  chainNames,
  containsCall,
  functionName,
  isErrorEvent,
  isSelfReference,
  type DiscoveryContext,
} from './context.js';
import { requiredSpecifier, skipWrappers, withoutBind } from './modules.js';
import {
  isLeadershipEvent,
  isLeadershipValue,
  namesAttemptCounter,
  namesClusterSize,
  namesDiscoveryFlag,
  namesDiscoveryObject,
  namesFallbackCall,
  namesHealth,
  namesLeadership,
  namesPeerList,
  namesRetry,
  splitWords,
} from './names.js';

/** What a handler does instead of surfacing the failure, when that is switching discovery off. */
export type FallbackKind =
  | 'leader'
  | 'disable-flag'
  | 'null-discovery'
  | 'clear-peers'
  | 'close-discovery'
  | 'stop-discovery'
  | 'single-node'
  | 'local-stand-in';

/** One fallback found in a handler. */
export interface Fallback {
  readonly kind: FallbackKind;
  readonly node: ts.Node;
  /** The statement, shortened, for the message. */
  readonly snippet: string;
}

/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_ORDER: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** What a failure handler does with the failure. */
export interface HandlerVerdict {
  /** Fallbacks on a path that does not go on to propagate. */
  readonly fallbacks: readonly Fallback[];
  /** Rethrows, rejects, passes the error on, re-emits it, exits. */
  readonly propagates: boolean;
  /** Marks the service unhealthy / not ready, or does other work the rule cannot judge. */
  readonly doesOtherWork: boolean;
  readonly retry: 'none' | 'bounded' | 'unbounded';
  /** Highest level it logs at, if it logs. */
  readonly logLevel: LogLevel | undefined;
  /** No statement at all (comments only, or `() => {}`). */
  readonly empty: boolean;
}

/** A handler the rule could read: a function body, or a reference it recognises. */
export type ResolvedHandler =
  | {
      readonly kind: 'body';
      readonly body: ts.Node;
      readonly errorName: string | undefined;
      /** `() => { … }`: the function takes no argument, so it never sees the error. */
      readonly declaresNoParameter: boolean;
    }
  | { readonly kind: 'log-reference'; readonly level: LogLevel }
  | { readonly kind: 'noop-reference' };

const LEVELS: Record<string, LogLevel> = {
  trace: 'debug',
  debug: 'debug',
  verbose: 'debug',
  silly: 'debug',
  info: 'info',
  log: 'info',
  notice: 'info',
  http: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'error',
  crit: 'error',
  critical: 'error',
  alert: 'error',
  emerg: 'error',
};
/** Android-style one-letter levels, read only on a logger (`Log.w(Tag, '…')`, `log.e(…)`). */
const SHORT_LEVELS: Record<string, LogLevel> = { v: 'debug', d: 'debug', i: 'info', w: 'warn', e: 'error' };
const LOGGER_WORDS = new Set(['log', 'logger', 'logging', 'console', 'pino', 'winston', 'bunyan', 'signale']);
const TELEMETRY_WORDS = new Set([
  'metrics',
  'metric',
  'stats',
  'statsd',
  'counter',
  'gauge',
  'histogram',
  'prometheus',
  'telemetry',
  'tracer',
  'span',
  'sentry',
]);
const PROPAGATING_CALLEES = new Set([
  'reject',
  'callback',
  'cb',
  'done',
  'next',
  'fail',
  'onError',
  'onerror',
]);
const SUCCESS_CALLEES = new Set(['resolve', 'callback', 'cb', 'done', 'next']);
const PURE_ROOTS = new Set([
  'JSON',
  'String',
  'Number',
  'Boolean',
  'Object',
  'Array',
  'Math',
  'Date',
  'util',
  'Symbol',
]);
const CLOSE_METHODS = new Set([
  'close',
  'stop',
  'leave',
  'destroy',
  'shutdown',
  'dropMembership',
  'disconnect',
  'end',
]);
const CLEAR_METHODS = new Set(['clear', 'splice', 'reset']);
/** Words of a method an object calls on itself to switch itself off (`pluginShutdown`, `disableLan`). */
const SELF_DISABLING_WORDS = new Set(['shutdown', 'disable']);
/** Fallbacks that are a restart's first half when the handler also schedules discovery's start. */
const RESTART_TEARDOWN: ReadonlySet<FallbackKind> = new Set([
  'close-discovery',
  'stop-discovery',
  'null-discovery',
]);
const START_LIKE_CALLEES = new Set([
  'start',
  'join',
  'bootstrap',
  'connect',
  'init',
  'initialize',
  'listen',
  'bind',
]);

/** The log level of a logging call (`logger.warn(…)`, `console.error(…)`, `debug(…)`), or undefined. */
export function logLevelOf(call: ts.CallExpression): LogLevel | undefined {
  const callee = skipWrappers(call.expression);
  if (ts.isPropertyAccessExpression(callee)) {
    const level = LEVELS[callee.name.text] ?? SHORT_LEVELS[callee.name.text];
    const receiver = chainNames(callee.expression);
    if (
      level !== undefined &&
      receiver.some((name) => splitWords(name).some((word) => LOGGER_WORDS.has(word)))
    )
      return level;
    // `node.error('SAP socket: ' + err.message)` in a Node-RED node, `this.warn(`…${err}`)` in a class
    // whose `warn` writes a line: a level-named call given only text about the error logs it. Given
    // the error itself (`this.error(err)`, `node.error(err, msg)` to Catch nodes) it may hand it on.
    if (
      LEVELS[callee.name.text] !== undefined &&
      call.arguments.length > 0 &&
      call.arguments.every(isMessageText) &&
      !ownMethodHandsOn(callee)
    )
      return LEVELS[callee.name.text];
    // A logger held as a method: `self._logger('…', err.message)`, `this.debug(err)`, `this.log(…)`.
    return loggerNameLevel(callee.name.text);
  }
  if (ts.isIdentifier(callee)) return debugInstanceLevel(callee) ?? loggerNameLevel(callee.text);
  return undefined;
}

/** A message written about an error: `'text'`, `` `…${err}` ``, `'x: ' + err.message`, `String(err)`. */
function isMessageText(argument: ts.Expression): boolean {
  const node = skipWrappers(argument);
  if (ts.isStringLiteralLike(node) || ts.isTemplateExpression(node)) return true;
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    return isMessageText(node.left) || isMessageText(node.right);
  }
  if (ts.isPropertyAccessExpression(node)) return /^(message|stack|code)$/.test(node.name.text);
  if (ts.isCallExpression(node)) {
    const names = chainNames(skipWrappers(node.expression));
    const last = names[names.length - 1];
    return last === 'String' || last === 'toString' || last === 'format' || last === 'stringify';
  }
  return false;
}

/** `this.error(…)` where the class's own `error()` throws, emits or rejects: handing on, not a log. */
function ownMethodHandsOn(callee: ts.PropertyAccessExpression): boolean {
  if (callee.expression.kind !== ts.SyntaxKind.ThisKeyword) return false;
  const owner = ts.findAncestor(callee, ts.isClassLike);
  const method = owner?.members.find(
    (member) =>
      ts.isMethodDeclaration(member) &&
      ts.isIdentifier(member.name) &&
      member.name.text === callee.name.text &&
      member.body !== undefined,
  );
  if (method === undefined) return false;
  let handsOn = false;
  const visit = (node: ts.Node): void => {
    if (handsOn) return;
    if (ts.isThrowStatement(node)) handsOn = true;
    else if (ts.isCallExpression(node)) {
      const names = chainNames(skipWrappers(node.expression));
      if (/^(emit|reject|callback|cb|done|next)$/.test(names[names.length - 1] ?? '')) handsOn = true;
    }
    if (!handsOn) ts.forEachChild(node, visit);
  };
  visit(method);
  return handsOn;
}

/**
 * `const log = require('debug')('app:x')`, `const trace = createDebug('peers')`,
 * `const say = util.debuglog('net')`: a function made by a debug-output factory logs at debug
 * level whatever the variable is called (`log(…)` alone would read as info).
 */
function debugInstanceLevel(callee: ts.Identifier): LogLevel | undefined {
  const declaration = findDeclaration(callee, callee.text);
  if (!declaration || !ts.isVariableDeclaration(declaration) || !declaration.initializer) return undefined;
  const made = skipWrappers(declaration.initializer);
  if (!ts.isCallExpression(made)) return undefined;
  const factory = skipWrappers(made.expression);
  const loaded = ts.isCallExpression(factory) ? requiredSpecifier(factory) : undefined;
  if (loaded === 'debug') return 'debug';
  const names = chainNames(factory);
  return /^(debug|createDebug|debuglog|debugLog)$/.test(names[names.length - 1] ?? '') ? 'debug' : undefined;
}

/** The level a function named like a logger logs at (`log`, `debug`, `_logger`, `logWarn`), or undefined. */
function loggerNameLevel(name: string): LogLevel | undefined {
  // `logerror(…)`, `loginfo(…)`, `errorlog(…)`: one lower-case word, level and log run together.
  const runTogether = /^(?:log_?([a-z]+)|([a-z]+?)_?log)$/.exec(name);
  const joinedLevel = runTogether && LEVELS[runTogether[1] ?? runTogether[2] ?? ''];
  if (joinedLevel) return joinedLevel === 'info' && name !== 'log' ? 'info' : joinedLevel;
  const words = splitWords(name);
  if (words.length === 1 && words[0] === 'log') return 'info';
  const levelAndLog =
    words.includes('log') && words.some((word) => word !== 'log' && LEVELS[word] !== undefined);
  // `warningLog(…)`, `errorLog(…)`, `debugLog(…)`: a logger named level first.
  if (words[0] === 'log' || words[0] === 'debug' || words.includes('logger') || levelAndLog) {
    return (
      words.map((word) => LEVELS[word]).find((level) => level !== undefined && level !== 'info') ?? 'info'
    );
  }
  if (words.length === 1 && (words[0] === 'warn' || words[0] === 'trace')) return LEVELS[words[0]];
  // `pushConsoleMessage(…)`, `writeToConsole(…)`: a line on an operator's console is a log line.
  if (words.includes('console')) return 'info';
  return undefined;
}

/** `console.warn`, `logger.debug`, `this.log.error.bind(this.log)` as a value → its level. */
function logReferenceLevel(expression: ts.Expression): LogLevel | undefined {
  const node = withoutBind(expression);
  if (!ts.isPropertyAccessExpression(node)) return undefined;
  const level = LEVELS[node.name.text];
  if (level === undefined) return undefined;
  return chainNames(node.expression).some((name) => splitWords(name).some((word) => LOGGER_WORDS.has(word)))
    ? level
    : undefined;
}

/**
 * Reads what a handler expression is: an inline function, a function declared in this file, a
 * logger method passed by reference, or a no-op. Anything else (an imported handler) is unknown
 * and never flagged — the rule prefers silence to a guess.
 */
export function resolveHandler(
  expression: ts.Expression,
  context: DiscoveryContext,
): ResolvedHandler | undefined {
  let node = skipWrappers(expression);
  // `this.onError.bind(this, port)`: arguments bound after `this` come first, the error after them.
  let boundArguments = 0;
  if (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    node.expression.name.text === 'bind'
  ) {
    const bound = skipWrappers(node.expression.expression);
    if (!ts.isPropertyAccessExpression(bound) || logReferenceLevel(bound) === undefined) {
      boundArguments = Math.max(0, node.arguments.length - 1);
      node = bound;
    }
  }
  if (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) return fromFunction(node, boundArguments);
  const level = logReferenceLevel(node);
  if (level !== undefined) return { kind: 'log-reference', level };
  const names = chainNames(node);
  const last = names[names.length - 1];
  if (last !== undefined && /^(noop|ignore|swallow|nothing|identity)$/i.test(last)) {
    const local = ts.isIdentifier(node) ? context.localFunction(last, node, false) : undefined;
    if (local === undefined) return { kind: 'noop-reference' };
  }
  if (ts.isIdentifier(node)) {
    const local = context.localFunction(node.text, node, false);
    return local ? fromFunction(local, boundArguments) : undefined;
  }
  if (ts.isPropertyAccessExpression(node) && node.expression.kind === ts.SyntaxKind.ThisKeyword) {
    const local = context.localFunction(node.name.text, node, true);
    return local ? fromFunction(local, boundArguments) : undefined;
  }
  return undefined;
}

function fromFunction(node: ts.FunctionLikeDeclaration, boundArguments = 0): ResolvedHandler | undefined {
  if (!node.body) return undefined;
  const errorParameter = node.parameters[boundArguments];
  const errorName =
    errorParameter && ts.isIdentifier(errorParameter.name) ? errorParameter.name.text : undefined;
  return {
    kind: 'body',
    body: node.body,
    errorName,
    declaresNoParameter: node.parameters.length <= boundArguments,
  };
}

function shorten(node: ts.Node, sourceFile: ts.SourceFile): string {
  const text = node.getText(sourceFile).replace(/\s+/g, ' ').replace(/;$/, '');
  return text.length > 70 ? `${text.slice(0, 69)}…` : text;
}

function isNullish(node: ts.Expression): boolean {
  const expression = skipWrappers(node);
  return (
    expression.kind === ts.SyntaxKind.NullKeyword ||
    (ts.isIdentifier(expression) && expression.text === 'undefined') ||
    ts.isVoidExpression(expression)
  );
}

/** `[]`, `new Set()`, `new Map()`, `[self]`, `[this.id]`: a peer list that now holds nobody else. */
function isEmptyOrSelfList(node: ts.Expression, sourceFile: ts.SourceFile): boolean {
  const expression = skipWrappers(node);
  if (ts.isArrayLiteralExpression(expression)) {
    if (expression.elements.length === 0) return true;
    const [only] = expression.elements;
    return (
      expression.elements.length === 1 &&
      only !== undefined &&
      /\b(self|me|local\w*|own\w*|this\.(id|nodeId|address|node|host|identity|whoami))\b/i.test(
        only.getText(sourceFile),
      )
    );
  }
  if (ts.isNewExpression(expression) && ts.isIdentifier(expression.expression)) {
    return /^(Set|Map)$/.test(expression.expression.text) && (expression.arguments?.length ?? 0) === 0;
  }
  return false;
}

function assignedName(target: ts.Expression): string | undefined {
  const expression = skipWrappers(target);
  if (ts.isIdentifier(expression)) return expression.text;
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text;
  if (ts.isElementAccessExpression(expression) && ts.isStringLiteralLike(expression.argumentExpression)) {
    return expression.argumentExpression.text;
  }
  return undefined;
}

/** A status value that tells the caller the call failed: a negative number or `false`. */
function isFailureStatus(node: ts.Expression): boolean {
  const value = skipWrappers(node);
  if (value.kind === ts.SyntaxKind.FalseKeyword) return true;
  return (
    ts.isPrefixUnaryExpression(value) &&
    value.operator === ts.SyntaxKind.MinusToken &&
    ts.isNumericLiteral(value.operand)
  );
}

/** True when the variable `name` is read somewhere in the file outside `handler` (not only assigned). */
function readOutside(name: string, handler: ts.Node, sourceFile: ts.SourceFile): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found || node === handler) return;
    if (ts.isIdentifier(node) && node.text === name) {
      const parent = node.parent;
      const isWrite =
        (ts.isBinaryExpression(parent) &&
          parent.left === node &&
          parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) ||
        (ts.isVariableDeclaration(parent) && parent.name === node) ||
        (ts.isPropertyAccessExpression(parent) && parent.name === node);
      if (!isWrite) found = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** True when `node` reads the variable `name` (a property called `name` does not count). */
export function mentions(node: ts.Node, name: string | undefined): boolean {
  if (name === undefined) return false;
  let found = false;
  const visit = (child: ts.Node): void => {
    if (found) return;
    if (ts.isIdentifier(child) && child.text === name) {
      const parent = child.parent;
      // `x.err` is a property called err, not the error.
      if (!(ts.isPropertyAccessExpression(parent) && parent.name === child)) found = true;
      return;
    }
    ts.forEachChild(child, visit);
  };
  visit(node);
  return found;
}

/** How to read a handler. */
export interface HandlerOptions {
  /**
   * Whether a call the rule cannot classify (`onready()`, `list.splice(i, 1)`) counts as other
   * work that may handle the failure (the default: the rule prefers silence to a guess). False for
   * a handler that never receives the error, which such a call cannot hand on.
   */
  readonly unknownCallsHandle?: boolean;
  /** Functions of this file the error has been followed into already (see `handsOnThroughLocalFunction`). */
  readonly following?: ReadonlySet<ts.Node>;
}

/** How many functions deep an error is followed before a call given it counts as handing it on. */
const MAX_FOLLOW_DEPTH = 3;

/** What reading one handler has found so far; the steps below add to it. */
interface Reading {
  readonly body: ts.Node;
  readonly errorName: string | undefined;
  readonly context: DiscoveryContext;
  /** The name of the function the handler sits in: calling it again is a retry. */
  readonly selfName: string | undefined;
  readonly fallbacks: Fallback[];
  readonly propagations: ts.Node[];
  doesOtherWork: boolean;
  /** Whether a call the rule cannot classify counts as handling the failure (see `HandlerOptions`). */
  readonly unknownCallsHandle: boolean;
  readonly following: ReadonlySet<ts.Node>;
  retriesScheduled: number;
  logLevel: LogLevel | undefined;
  statementCount: number;
}

/**
 * Reads a failure handler: what it does with the error (propagates, logs, nothing) and whether it
 * switches discovery off or falls back to leader on a path that does not propagate afterwards.
 * Three steps: walk the body classifying each statement, call and assignment; keep the fallbacks
 * no later propagation excuses; judge the retry.
 */
export function analyzeHandler(
  body: ts.Node,
  errorName: string | undefined,
  context: DiscoveryContext,
  boundSearchRoot: ts.Node = body,
  options: HandlerOptions = {},
): HandlerVerdict {
  const reading: Reading = {
    unknownCallsHandle: options.unknownCallsHandle ?? true,
    following: options.following ?? new Set(),
    body,
    errorName,
    context,
    selfName:
      ts.isFunctionLike(boundSearchRoot) && 'body' in boundSearchRoot
        ? functionName(boundSearchRoot as ts.FunctionLikeDeclaration)
        : undefined,
    fallbacks: [],
    propagations: [],
    doesOtherWork: false,
    retriesScheduled: 0,
    logLevel: undefined,
    statementCount: 0,
  };
  readBody(reading);
  return {
    fallbacks: standingFallbacks(reading),
    propagates: reading.propagations.length > 0,
    doesOtherWork: reading.doesOtherWork,
    retry: retryOf(reading, boundSearchRoot),
    logLevel: reading.logLevel,
    empty: reading.statementCount === 0,
  };
}

function addFallback(reading: Reading, kind: FallbackKind, node: ts.Node): void {
  reading.fallbacks.push({ kind, node, snippet: shorten(node, reading.context.sourceFile) });
}

function noteLogLevel(reading: Reading, level: LogLevel): void {
  const { logLevel } = reading;
  if (logLevel === undefined || LEVEL_ORDER.indexOf(level) > LEVEL_ORDER.indexOf(logLevel))
    reading.logLevel = level;
}

/** Step 1: the walk. An expression-bodied arrow returns its expression: `.catch(() => [])`. */
function readBody(reading: Reading): void {
  const { body } = reading;
  if (!ts.isBlock(body)) {
    reading.statementCount += 1;
    classifyReturned(reading, body as ts.Expression, body);
  }
  const visit = (node: ts.Node): void => {
    if (classifyNode(reading, node)) ts.forEachChild(node, visit);
  };
  visit(body);
}

/** Classifies one node of the handler; false when its children need no reading. */
function classifyNode(reading: Reading, node: ts.Node): boolean {
  if (ts.isStatement(node) && !ts.isBlock(node) && !ts.isEmptyStatement(node)) reading.statementCount += 1;
  if (ts.isThrowStatement(node)) {
    reading.propagations.push(node);
    return false;
  }
  if (ts.isCallExpression(node)) return classifyCall(reading, node);
  if (
    ts.isBinaryExpression(node) &&
    node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
    node.operatorToken.kind <= ts.SyntaxKind.LastAssignment
  ) {
    classifyAssignment(reading, node);
  } else if (ts.isReturnStatement(node) && node.expression) {
    // `return -1` / `return false` to a plugin host or caller: the failure is handed back as a value.
    if (isFailureStatus(node.expression)) reading.propagations.push(node);
    else classifyReturned(reading, node.expression, node);
  } else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) {
    classifyPropertyAssignment(reading, node, node.name.text);
  } else if (ts.isDeleteExpression(node)) {
    const name = assignedName(node.expression);
    if (name !== undefined && namesDiscoveryObject(name)) addFallback(reading, 'null-discovery', node);
  }
  return true;
}

function classifyReturned(reading: Reading, expression: ts.Expression, site: ts.Node): void {
  if (isEmptyOrSelfList(expression, reading.context.sourceFile)) addFallback(reading, 'clear-peers', site);
}

/** `{ isLeader: true }`, `{ role: 'leader' }` in an object the handler builds. */
function classifyPropertyAssignment(reading: Reading, node: ts.PropertyAssignment, name: string): void {
  const value = skipWrappers(node.initializer);
  if (value.kind === ts.SyntaxKind.TrueKeyword && namesLeadership(name)) addFallback(reading, 'leader', node);
  if (ts.isStringLiteralLike(value) && /^(role|mode|state)$/i.test(name) && isLeadershipValue(value.text)) {
    addFallback(reading, 'leader', node);
  }
}

/** `isLeader = true`, `discoveryEnabled = false`, `this.swim = null`, `peers = []`, `lastError = err`. */
function classifyAssignment(reading: Reading, node: ts.BinaryExpression): void {
  const name = assignedName(node.left);
  if (name === undefined) return;
  const value = skipWrappers(node.right);
  const left = skipWrappers(node.left);
  const { errorName, body, context } = reading;
  if (errorName !== undefined && ts.isIdentifier(value) && value.text === errorName) {
    // `lastError = err`: kept for the path that gives up (`callback(lastError)` after the last
    // retry), so it is handed on when the variable is read outside this handler.
    if (ts.isIdentifier(left) && readOutside(left.text, body, context.sourceFile)) {
      reading.propagations.push(node);
      return;
    }
  }
  if (value.kind === ts.SyntaxKind.TrueKeyword) {
    if (namesLeadership(name)) addFallback(reading, 'leader', node);
    else if (/unhealthy|degraded|failed/i.test(name)) reading.doesOtherWork = true;
  } else if (value.kind === ts.SyntaxKind.FalseKeyword) {
    classifyFalseAssignment(reading, node, name, left);
  } else if (ts.isStringLiteralLike(value)) {
    if (isLeadershipValue(value.text)) addFallback(reading, 'leader', node);
    else if (/unhealthy|degraded|failed|not.?serving/i.test(value.text)) reading.doesOtherWork = true;
  } else if (isNullish(value)) {
    if (namesDiscoveryObject(name) || context.isDiscoveryObject(left))
      addFallback(reading, 'null-discovery', node);
  } else if (isEmptyOrSelfList(value, context.sourceFile)) {
    if (namesPeerList(name)) addFallback(reading, 'clear-peers', node);
  } else if (ts.isNumericLiteral(value)) {
    if (name === 'length' && ts.isPropertyAccessExpression(left) && value.text === '0') {
      const owner = chainNames(left.expression);
      if (owner.some((part) => namesPeerList(part))) addFallback(reading, 'clear-peers', node);
    } else if (value.text === '1' && namesClusterSize(name)) addFallback(reading, 'single-node', node);
  }
}

/** `discoveryEnabled = false`, `this.multicast.enabled = false`; `healthy = false` is other work. */
function classifyFalseAssignment(
  reading: Reading,
  node: ts.BinaryExpression,
  name: string,
  left: ts.Expression,
): void {
  const owner = ts.isPropertyAccessExpression(left) ? chainNames(left.expression) : [];
  if (namesDiscoveryFlag(name)) addFallback(reading, 'disable-flag', node);
  else if (/^(enabled|active|running|on)$/i.test(name) && owner.some((part) => namesDiscoveryFlag(part))) {
    addFallback(reading, 'disable-flag', node);
  } else if (namesHealth(name)) reading.doesOtherWork = true;
}

/** A call, taken apart once for the classifiers below. */
interface CallParts {
  readonly node: ts.CallExpression;
  readonly names: string[];
  /** The method or function called (`warn` in `this.logger.warn`). */
  readonly name: string;
  /** The first name of the chain (`this.logger.warn` → `logger`; `process` in `process.exit`). */
  readonly root: string | undefined;
  readonly receiver: ts.Expression | undefined;
  readonly firstArgument: ts.Expression | undefined;
}

/**
 * What a call does, asked in order: `'stop'` when it is classified and its arguments need no
 * reading (a log line), `'descend'` when its arguments may hold more, undefined when not this
 * classifier's kind of call.
 */
type CallClassifier = (reading: Reading, call: CallParts) => 'stop' | 'descend' | undefined;

/** Returns false when the call's arguments need no further reading (a log line). */
function classifyCall(reading: Reading, node: ts.CallExpression): boolean {
  const callee = skipWrappers(node.expression);
  const names = chainNames(callee);
  const call: CallParts = {
    node,
    names,
    name: names[names.length - 1] ?? '',
    root: names[0],
    receiver: ts.isPropertyAccessExpression(callee) ? callee.expression : undefined,
    firstArgument: node.arguments[0],
  };
  for (const classify of CALL_CLASSIFIERS) {
    const outcome = classify(reading, call);
    if (outcome !== undefined) return outcome === 'descend';
  }
  if (readsThroughLocalFunction(reading, node)) return true;
  if (reading.unknownCallsHandle) reading.doesOtherWork = true;
  return true;
}

/** `process.exit(1)`, `Promise.reject(…)`, `emit('error', …)` / `emit('elected')` / `emit('x')`. */
const exitsRejectsOrEmits: CallClassifier = (reading, { node, name, root, firstArgument }) => {
  if (
    (root === 'process' && /^(exit|abort|kill|reallyExit)$/.test(name)) ||
    (root === 'Promise' && name === 'reject')
  ) {
    reading.propagations.push(node);
    return 'stop';
  }
  if (name === 'emit' && firstArgument && ts.isStringLiteralLike(firstArgument)) {
    if (/error|fail/i.test(firstArgument.text)) reading.propagations.push(node);
    else if (isLeadershipEvent(firstArgument.text)) addFallback(reading, 'leader', node);
    else reading.doesOtherWork = true;
    return 'stop';
  }
  return undefined;
};

/**
 * `this.other?.on('error', onError)` in a catch: attaching a listener for later errors neither
 * handles nor hands on the one caught (unless it is given that error).
 */
const attachesAnErrorListener: CallClassifier = (reading, { node, name, firstArgument }) =>
  ADDS_A_LISTENER.test(name) &&
  firstArgument !== undefined &&
  isErrorEvent(firstArgument) &&
  !node.arguments.some((argument) => mentions(argument, reading.errorName))
    ? 'stop'
    : undefined;

/** A log line (its level noted) or a metric: neither handles the failure. */
const logsOrCounts: CallClassifier = (reading, { node, names }) => {
  const level = logLevelOf(node);
  if (level !== undefined) {
    noteLogLevel(reading, level);
    return 'stop';
  }
  if (names.some((part) => splitWords(part).some((word) => TELEMETRY_WORDS.has(word)))) return 'stop';
  return undefined;
};

/** `becomeLeader()`, `setLeader(true)`, `setRole('leader')`: falls back to leader. */
const takesLeadership: CallClassifier = (reading, { node, name, firstArgument }) => {
  const leaderArgument =
    firstArgument !== undefined &&
    (firstArgument.kind === ts.SyntaxKind.TrueKeyword ||
      (ts.isStringLiteralLike(firstArgument) && isLeadershipValue(firstArgument.text)));
  const setsLeaderRole =
    /^set(Role|Mode|State)$/.test(name) &&
    firstArgument !== undefined &&
    ts.isStringLiteralLike(firstArgument) &&
    isLeadershipValue(firstArgument.text);
  if (namesFallbackCall(name) || (namesLeadership(name) && leaderArgument) || setsLeaderRole) {
    addFallback(reading, 'leader', node);
    return 'stop';
  }
  return undefined;
};

/** `socket.close()` on a discovery object, `peers.clear()`: switches discovery off. */
const closesOrClears: CallClassifier = (reading, { node, name, receiver }) => {
  if (receiver && CLOSE_METHODS.has(name) && reading.context.isDiscoveryObject(receiver)) {
    // `self.stop()` in the object that owns the discovery socket ends its rounds, not one socket.
    addFallback(reading, isSelfReference(receiver) ? 'stop-discovery' : 'close-discovery', node);
    return 'stop';
  }
  // `this.pluginShutdown()`, `this.disable()` after a failed start: the object switches itself off.
  if (
    receiver &&
    isSelfReference(receiver) &&
    splitWords(name).some((word) => SELF_DISABLING_WORDS.has(word))
  ) {
    addFallback(reading, 'stop-discovery', node);
    return 'stop';
  }
  if (receiver && CLEAR_METHODS.has(name) && chainNames(receiver).some((part) => namesPeerList(part))) {
    addFallback(reading, 'clear-peers', node);
    return 'stop';
  }
  return undefined;
};

/**
 * `node.status({ fill: 'red', text: 'SAP error' })` (a Node-RED node's badge), `setStatus('error')`:
 * the failure is shown where the operator watches the service, as a health flag is.
 */
function showsAFailedStatus(node: ts.CallExpression, name: string): boolean {
  if (!/^(status|setStatus|updateStatus|showStatus)$/.test(name)) return false;
  const argument = node.arguments[0] && skipWrappers(node.arguments[0]);
  if (argument === undefined) return false;
  if (ts.isStringLiteralLike(argument)) return FAILED_STATE.test(argument.text);
  if (!ts.isObjectLiteralExpression(argument)) return false;
  return argument.properties.some(
    (property) =>
      ts.isPropertyAssignment(property) &&
      ts.isIdentifier(property.name) &&
      /^(fill|color|colour|state|level)$/.test(property.name.text) &&
      ts.isStringLiteralLike(property.initializer) &&
      (FAILED_STATE.test(property.initializer.text) || property.initializer.text === 'red'),
  );
}

const FAILED_STATE = /^(error|failed|failure|offline|disconnected|down|fault)$/i;

/** Health marking is other work; a retry (or a scheduled restart) is counted; a sleep is read through. */
const marksHealthOrRetries: CallClassifier = (reading, { node, names, name }) => {
  // Shown to the operator like a rejection is shown to the caller: a closed socket with a red badge
  // is not a quiet switch-off.
  if (showsAFailedStatus(node, name)) {
    reading.propagations.push(node);
    return 'stop';
  }
  if (names.some((part) => namesHealth(part)) || /unhealthy|notready|degraded/i.test(name)) {
    reading.doesOtherWork = true;
    return 'stop';
  }
  if (
    namesRetry(name) ||
    isScheduledRestart(node) ||
    (reading.selfName !== undefined && name === reading.selfName)
  ) {
    // The retry itself; what it calls is the discovery work again, not other handling.
    reading.retriesScheduled += 1;
    return 'stop';
  }
  if (/^(sleep|delay|wait|setTimeout)$/.test(name)) return 'descend';
  return undefined;
};

/**
 * Whether the error is handed on: `callback(err)`, `reject(err)`, any call given the error — but
 * `callback()` reports success, a predicate (`isSilencedSocketError(err)`) or a method of the error
 * itself only inspects it.
 */
const handsTheErrorOn: CallClassifier = (reading, { node, name, root, firstArgument }) => {
  const { errorName } = reading;
  const passesError = node.arguments.some((argument) => mentions(argument, errorName));
  if (PROPAGATING_CALLEES.has(name)) {
    // `reject()` fails the promise even without a reason; `callback()` / `done(null)` report success.
    if ((firstArgument && !isNullish(firstArgument)) || name === 'reject') reading.propagations.push(node);
    return 'stop'; // `callback()` / `done(null)`: reports success — swallows.
  }
  if (SUCCESS_CALLEES.has(name)) {
    // `resolve({ status: 'rejected', reason: error })`: a result that carries the error hands it on.
    if (passesError) reading.propagations.push(node);
    return 'stop';
  }
  // A predicate or a getter only reads: `supportsFeature('PLUGINS')`, `getPluginInstance('sentry')`.
  if (/^(is|has|should|can|was|supports|get)[A-Z_]/.test(name)) return 'descend';
  if (root !== undefined && root === errorName) return 'stop'; // err.message.includes(…)
  if (root !== undefined && PURE_ROOTS.has(root)) return 'descend';
  if (passesError) {
    if (!handsOnThroughLocalFunction(reading, node)) return 'stop';
    reading.propagations.push(node);
    return 'stop';
  }
  const callee = skipWrappers(node.expression);
  if (
    ts.isIdentifier(callee) &&
    /^(setTimeout|setImmediate|queueMicrotask|String|Number)$/.test(callee.text)
  ) {
    return 'descend';
  }
  return undefined;
};

/**
 * `this.errorHandler('[scan]', error)`: a function of this file that is given the error hands it on
 * only when its own body does (rethrows, rejects, emits, calls back, or does work the rule cannot
 * judge). One that only logs or counts it is read as that log line, so the handler around it is
 * judged by what actually happens to the error. Returns true when the call counts as handing on.
 */
function handsOnThroughLocalFunction(reading: Reading, call: ts.CallExpression): boolean {
  const position = call.arguments.findIndex((argument) => mentions(argument, reading.errorName));
  const inner = readLocalCallee(reading, call, position);
  if (inner === undefined || inner.propagates || inner.doesOtherWork || inner.fallbacks.length > 0)
    return true;
  if (inner.logLevel !== undefined) noteLogLevel(reading, inner.logLevel);
  return false;
}

/**
 * `cleanup()` in a catch, where `const cleanup = () => { socket.close(); resolve([...found]) }`: a
 * function of this file called without the error is read as part of the handler, so what it
 * switches off (or that it only logs) counts. Returns false when the call cannot be read that way
 * (not a function of this file, too deep, or it does work the rule cannot judge).
 */
function readsThroughLocalFunction(reading: Reading, call: ts.CallExpression): boolean {
  const inner = readLocalCallee(reading, call, -1);
  if (inner === undefined || inner.propagates || inner.doesOtherWork) return false;
  // `setTimeout(cleanup, timeout)` beside `socket.on('error', () => cleanup())`: a teardown the
  // normal path runs too is the socket's end of use, not discovery switched off by the failure.
  for (const fallback of inner.fallbacks) {
    if (RESTART_TEARDOWN.has(fallback.kind) && calledFromElsewhere(call, reading.context.sourceFile))
      continue;
    reading.fallbacks.push({ kind: fallback.kind, node: call, snippet: fallback.snippet });
  }
  if (inner.logLevel !== undefined) noteLogLevel(reading, inner.logLevel);
  return true;
}

/** True when the function `call` invokes is named somewhere else in the file too (called or passed on). */
function calledFromElsewhere(call: ts.CallExpression, sourceFile: ts.SourceFile): boolean {
  const names = chainNames(skipWrappers(call.expression));
  const name = names[names.length - 1];
  return name !== undefined && (identifierUses(sourceFile).get(name) ?? 0) > 1;
}

const usesByFile = new WeakMap<ts.SourceFile, ReadonlyMap<string, number>>();

/** How often each name is used (not declared) in the file; one walk per file, asked by every handler. */
function identifierUses(sourceFile: ts.SourceFile): ReadonlyMap<string, number> {
  let uses = usesByFile.get(sourceFile);
  if (uses === undefined) {
    const counted = new Map<string, number>();
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && !isDeclarationName(node))
        counted.set(node.text, (counted.get(node.text) ?? 0) + 1);
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
    uses = counted;
    usesByFile.set(sourceFile, uses);
  }
  return uses;
}

function isDeclarationName(node: ts.Identifier): boolean {
  const { parent } = node;
  return (
    (ts.isVariableDeclaration(parent) ||
      ts.isFunctionDeclaration(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isPropertyAssignment(parent)) &&
    parent.name === node
  );
}

/**
 * The verdict of the function of this file that `call` invokes, read with the parameter at
 * `errorPosition` as the error (none when -1), or undefined when it cannot be read: not found, a
 * rest parameter, already being followed, too deep, or it schedules a retry (whose bound lives there).
 */
function readLocalCallee(
  reading: Reading,
  call: ts.CallExpression,
  errorPosition: number,
): HandlerVerdict | undefined {
  const target = reading.context.localCallee(call);
  if (!target?.body || reading.following.has(target) || reading.following.size >= MAX_FOLLOW_DEPTH)
    return undefined;
  let errorName: string | undefined;
  if (errorPosition >= 0) {
    const parameter = target.parameters[errorPosition];
    if (!parameter || !ts.isIdentifier(parameter.name) || parameter.dotDotDotToken) return undefined;
    errorName = parameter.name.text;
  }
  const inner = analyzeHandler(target.body, errorName, reading.context, target, {
    following: new Set([...reading.following, target]),
    unknownCallsHandle: reading.unknownCallsHandle,
  });
  return inner.retry === 'none' ? inner : undefined;
}

/**
 * `self.done.bind(self);` as a statement: Function.prototype.bind makes a new function and the
 * statement drops it, so nothing is called (a socket's `bind(port)` takes no `this`).
 */
const bindsAndDropsAFunction: CallClassifier = (_reading, { node, name, root, firstArgument }) => {
  if (name !== 'bind' || firstArgument === undefined || !ts.isExpressionStatement(node.parent))
    return undefined;
  const bound = skipWrappers(firstArgument);
  const boundThis =
    bound.kind === ts.SyntaxKind.ThisKeyword ||
    isSelfReference(bound) ||
    (ts.isIdentifier(bound) && bound.text === root);
  return boundThis ? 'stop' : undefined;
};

/** The classifiers in the order they are asked; any other call is other work the rule cannot judge. */
const CALL_CLASSIFIERS: readonly CallClassifier[] = [
  bindsAndDropsAFunction,
  attachesAnErrorListener,
  exitsRejectsOrEmits,
  logsOrCounts,
  takesLeadership,
  closesOrClears,
  marksHealthOrRetries,
  handsTheErrorOn,
];

/** `setTimeout(() => this.start(), 1000)`: a timer whose callback starts (or joins, binds…) again. */
function isScheduledRestart(node: ts.CallExpression): boolean {
  const callee = skipWrappers(node.expression);
  if (!ts.isIdentifier(callee) || !/^(setTimeout|setInterval|setImmediate)$/.test(callee.text)) return false;
  const [callback] = node.arguments;
  if (!callback) return false;
  return containsCall(
    callback,
    (name) => START_LIKE_CALLEES.has(name) || splitWords(name).some((word) => START_LIKE_CALLEES.has(word)),
  );
}

/**
 * Step 2: the fallbacks that stand — not preceded or followed by a propagation on their path, and not the
 * first half of a restart.
 */
function standingFallbacks(reading: Reading): Fallback[] {
  return reading.fallbacks.filter(
    (candidate) =>
      !pathReachesPropagation(candidate.node, reading.body, reading.propagations) &&
      // Closing or dropping the socket and scheduling discovery's start again is a restart, not
      // switching discovery off; the restart itself is judged as a retry.
      !(RESTART_TEARDOWN.has(candidate.kind) && reading.retriesScheduled > 0),
  );
}

/** Step 3: a scheduled retry is bounded when the function around it compares an attempt counter. */
function retryOf(reading: Reading, boundSearchRoot: ts.Node): HandlerVerdict['retry'] {
  if (reading.retriesScheduled === 0) return 'none';
  return hasAttemptBound(boundSearchRoot) ? 'bounded' : 'unbounded';
}

/** A comparison on an attempt counter (`attempt < maxAttempts`, `retries-- > 0`) bounds a retry. */
function hasAttemptBound(root: ts.Node): boolean {
  let bounded = false;
  const visit = (node: ts.Node): void => {
    if (bounded) return;
    if (
      ts.isBinaryExpression(node) &&
      [
        ts.SyntaxKind.LessThanToken,
        ts.SyntaxKind.LessThanEqualsToken,
        ts.SyntaxKind.GreaterThanToken,
        ts.SyntaxKind.GreaterThanEqualsToken,
      ].includes(node.operatorToken.kind)
    ) {
      const sides = [...chainNames(node.left), ...chainNames(node.right)];
      if (sides.some((name) => namesAttemptCounter(name))) bounded = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(root);
  return bounded;
}

/**
 * True when, after the statement holding `node`, execution reaches a propagation before leaving
 * the handler (`this.isLeader = false; throw err;`). The branch that contains the fallback is
 * followed outwards; sibling branches (`else { throw err }`) do not count, because they are a
 * different path.
 */
function pathReachesPropagation(
  node: ts.Node,
  handlerRoot: ts.Node,
  propagations: readonly ts.Node[],
): boolean {
  const contains = (outer: ts.Node): boolean =>
    propagations.some((inner) => inner.pos >= outer.pos && inner.end <= outer.end);
  let current: ts.Node = node;
  while (current !== handlerRoot && current.parent) {
    const parent: ts.Node = current.parent;
    if (
      ts.isBlock(parent) ||
      ts.isCaseClause(parent) ||
      ts.isDefaultClause(parent) ||
      ts.isSourceFile(parent)
    ) {
      const statements = parent.statements;
      const index = statements.indexOf(current as ts.Statement);
      // `this.emit('error', err); socket.close()`: handed on before the switch-off, on every path to
      // it (a propagation nested in an earlier `if` may sit on another path, so only plain statements).
      if (
        statements
          .slice(0, index)
          .some((statement) => ts.isExpressionStatement(statement) && contains(statement))
      )
        return true;
      for (const statement of statements.slice(index + 1)) {
        if (contains(statement)) return true;
        if (
          ts.isReturnStatement(statement) ||
          ts.isBreakStatement(statement) ||
          ts.isContinueStatement(statement)
        ) {
          return false;
        }
      }
      if (parent === handlerRoot) return false;
    }
    if (ts.isFunctionLike(parent)) return false;
    current = parent;
  }
  return false;
}

/**
 * `if (err.code === 'EADDRINUSE') { retry() } else { console.error(err) }`,
 * `if (err.message === NO_PLAYERS) { answer(); return } debug(err)`: a handler that names kinds of
 * error handles the kinds it names on purpose; what matters is the rest, every other failure. The
 * rest is read on its own (each test of the error's kind takes its "not this kind" side); its
 * verdict when it swallows the failure, or undefined when it handles it too.
 */
export function swallowingBranch(
  body: ts.Node,
  errorName: string | undefined,
  context: DiscoveryContext,
  boundSearchRoot: ts.Node,
): HandlerVerdict | undefined {
  if (errorName === undefined || !ts.isBlock(body)) return undefined;
  let namesAKind = false;
  const rest = (node: ts.Node): ts.Node[] => {
    if (ts.isBlock(node)) return node.statements.flatMap(rest);
    if (ts.isIfStatement(node)) {
      const test = kindTest(node.expression, errorName);
      if (test !== undefined) namesAKind = true;
      if (test === 'named') return node.elseStatement ? rest(node.elseStatement) : [];
      if (test === 'rest') return rest(node.thenStatement);
      return [
        node.expression,
        ...rest(node.thenStatement),
        ...(node.elseStatement ? rest(node.elseStatement) : []),
      ];
    }
    return [node];
  };
  const path = rest(body);
  if (!namesAKind) return undefined;
  const parts = path.map((node) => analyzeHandler(node, errorName, context, boundSearchRoot));
  const verdict: HandlerVerdict = {
    fallbacks: parts.flatMap((part) => part.fallbacks),
    propagates: parts.some((part) => part.propagates),
    doesOtherWork: parts.some((part) => part.doesOtherWork),
    retry: parts.some((part) => part.retry === 'bounded')
      ? 'bounded'
      : parts.some((part) => part.retry === 'unbounded')
        ? 'unbounded'
        : 'none',
    logLevel: parts.reduce<LogLevel | undefined>(
      (level, part) =>
        part.logLevel === undefined ||
        (level !== undefined && LEVEL_ORDER.indexOf(level) >= LEVEL_ORDER.indexOf(part.logLevel))
          ? level
          : part.logLevel,
      undefined,
    ),
    empty: parts.every((part) => part.empty),
  };
  return !verdict.propagates && !verdict.doesOtherWork && verdict.retry === 'none' ? verdict : undefined;
}

/**
 * What an `if` says about the error's kind: `'named'` when its `then` runs for one named kind
 * (`err.code === 'EADDRINUSE'`, `err instanceof AbortError`, `err.message.startsWith('x')`),
 * `'rest'` when its `then` runs for every other kind (`err.code !== 'ENOENT'`), undefined otherwise.
 */
function kindTest(condition: ts.Expression, errorName: string): 'named' | 'rest' | undefined {
  const expression = skipWrappers(condition);
  const readsTheError = (node: ts.Expression): boolean => {
    const inner = skipWrappers(node);
    return (
      (ts.isPropertyAccessExpression(inner) ||
        ts.isElementAccessExpression(inner) ||
        ts.isCallExpression(inner)) &&
      mentions(inner, errorName)
    );
  };
  if (ts.isPrefixUnaryExpression(expression) && expression.operator === ts.SyntaxKind.ExclamationToken) {
    const inner = kindTest(expression.operand, errorName);
    return inner === 'named' ? 'rest' : inner === 'rest' ? 'named' : undefined;
  }
  if (ts.isBinaryExpression(expression)) {
    const kind = expression.operatorToken.kind;
    // `err && err.code === 'EADDRINUSE'`: a presence check beside a kind test is that kind test.
    if (kind === ts.SyntaxKind.AmpersandAmpersandToken) {
      const sides = [kindTest(expression.left, errorName), kindTest(expression.right, errorName)];
      return sides.includes('named') ? 'named' : undefined;
    }
    if (kind === ts.SyntaxKind.InstanceOfKeyword) {
      const left = skipWrappers(expression.left);
      return ts.isIdentifier(left) && left.text === errorName ? 'named' : undefined;
    }
    const equal = kind === ts.SyntaxKind.EqualsEqualsEqualsToken || kind === ts.SyntaxKind.EqualsEqualsToken;
    const unequal =
      kind === ts.SyntaxKind.ExclamationEqualsEqualsToken || kind === ts.SyntaxKind.ExclamationEqualsToken;
    const literal = (node: ts.Expression): boolean => {
      const inner = skipWrappers(node);
      return (
        ts.isStringLiteralLike(inner) ||
        ts.isNumericLiteral(inner) ||
        ts.isIdentifier(inner) ||
        ts.isPropertyAccessExpression(inner)
      );
    };
    if (
      (equal || unequal) &&
      ((readsTheError(expression.left) && literal(expression.right)) ||
        (readsTheError(expression.right) && literal(expression.left)))
    ) {
      const isNullCheck = [expression.left, expression.right].some((side) => {
        const inner = skipWrappers(side);
        return (
          inner.kind === ts.SyntaxKind.NullKeyword || (ts.isIdentifier(inner) && inner.text === 'undefined')
        );
      });
      if (isNullCheck) return undefined;
      return equal ? 'named' : 'rest';
    }
    return undefined;
  }
  if (ts.isCallExpression(expression) && ts.isPropertyAccessExpression(expression.expression)) {
    const method = expression.expression.name.text;
    if (/^(startsWith|endsWith|includes|match|test)$/.test(method) && mentions(expression, errorName))
      return 'named';
  }
  return undefined;
}
