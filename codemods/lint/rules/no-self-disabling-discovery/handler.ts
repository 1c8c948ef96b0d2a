import { ts } from '../../../syntax/index.js';
import { chainNames, functionName, type DiscoveryContext } from './context.js';
import { skipWrappers } from './modules.js';
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
  'leader' | 'disable-flag' | 'null-discovery' | 'clear-peers' | 'close-discovery' | 'single-node';

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
  | { readonly kind: 'body'; readonly body: ts.Node; readonly errorName: string | undefined }
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
/** Fallbacks that are a restart's first half when the handler also schedules discovery's start. */
const RESTART_TEARDOWN: ReadonlySet<FallbackKind> = new Set(['close-discovery', 'null-discovery']);
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
    const level = LEVELS[callee.name.text];
    const receiver = chainNames(callee.expression);
    if (
      level !== undefined &&
      receiver.some((name) => splitWords(name).some((word) => LOGGER_WORDS.has(word)))
    )
      return level;
    // A logger held as a method: `self._logger('…', err.message)`, `this.debug(err)`, `this.log(…)`.
    return loggerNameLevel(callee.name.text);
  }
  if (ts.isIdentifier(callee)) return loggerNameLevel(callee.text);
  return undefined;
}

/** The level a function named like a logger logs at (`log`, `debug`, `_logger`, `logWarn`), or undefined. */
function loggerNameLevel(name: string): LogLevel | undefined {
  const words = splitWords(name);
  if (words.length === 1 && words[0] === 'log') return 'info';
  if (words[0] === 'log' || words[0] === 'debug' || words.includes('logger')) {
    return (
      words.map((word) => LEVELS[word]).find((level) => level !== undefined && level !== 'info') ?? 'info'
    );
  }
  if (words.length === 1 && (words[0] === 'warn' || words[0] === 'trace')) return LEVELS[words[0]];
  return undefined;
}

/** `console.warn`, `logger.debug`, `this.log.error.bind(this.log)` as a value → its level. */
function logReferenceLevel(expression: ts.Expression): LogLevel | undefined {
  let node = skipWrappers(expression);
  if (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    node.expression.name.text === 'bind'
  ) {
    node = skipWrappers(node.expression.expression);
  }
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
  if (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    node.expression.name.text === 'bind'
  ) {
    const bound = skipWrappers(node.expression.expression);
    if (!ts.isPropertyAccessExpression(bound) || logReferenceLevel(bound) === undefined) node = bound;
  }
  if (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) return fromFunction(node);
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
    return local ? fromFunction(local) : undefined;
  }
  if (ts.isPropertyAccessExpression(node) && node.expression.kind === ts.SyntaxKind.ThisKeyword) {
    const local = context.localFunction(node.name.text, node, true);
    return local ? fromFunction(local) : undefined;
  }
  return undefined;
}

function fromFunction(node: ts.FunctionLikeDeclaration): ResolvedHandler | undefined {
  if (!node.body) return undefined;
  const [first] = node.parameters;
  const errorName = first && ts.isIdentifier(first.name) ? first.name.text : undefined;
  return { kind: 'body', body: node.body, errorName };
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

/**
 * Reads a failure handler: what it does with the error (propagates, logs, nothing) and whether it
 * switches discovery off or falls back to leader on a path that does not propagate afterwards.
 */
export function analyzeHandler(
  body: ts.Node,
  errorName: string | undefined,
  context: DiscoveryContext,
  boundSearchRoot: ts.Node = body,
): HandlerVerdict {
  const { sourceFile } = context;
  const fallbacks: Fallback[] = [];
  const propagations: ts.Node[] = [];
  let doesOtherWork = false;
  let retriesScheduled = 0;
  let logLevel: LogLevel | undefined;

  const fallback = (kind: FallbackKind, node: ts.Node): void => {
    fallbacks.push({ kind, node, snippet: shorten(node, sourceFile) });
  };
  const log = (level: LogLevel): void => {
    if (logLevel === undefined || LEVEL_ORDER.indexOf(level) > LEVEL_ORDER.indexOf(logLevel))
      logLevel = level;
  };

  const classifyAssignment = (node: ts.BinaryExpression): void => {
    const name = assignedName(node.left);
    if (name === undefined) return;
    const value = skipWrappers(node.right);
    const left = skipWrappers(node.left);
    if (errorName !== undefined && ts.isIdentifier(value) && value.text === errorName) {
      // `lastError = err`: kept for the path that gives up (`callback(lastError)` after the last
      // retry), so it is handed on when the variable is read outside this handler.
      if (ts.isIdentifier(left) && readOutside(left.text, body, sourceFile)) {
        propagations.push(node);
        return;
      }
    }
    if (value.kind === ts.SyntaxKind.TrueKeyword) {
      if (namesLeadership(name)) fallback('leader', node);
      else if (/unhealthy|degraded|failed/i.test(name)) doesOtherWork = true;
    } else if (value.kind === ts.SyntaxKind.FalseKeyword) {
      const owner = ts.isPropertyAccessExpression(left) ? chainNames(left.expression) : [];
      if (namesDiscoveryFlag(name)) fallback('disable-flag', node);
      else if (
        /^(enabled|active|running|on)$/i.test(name) &&
        owner.some((part) => namesDiscoveryFlag(part))
      ) {
        fallback('disable-flag', node);
      } else if (namesHealth(name)) doesOtherWork = true;
    } else if (ts.isStringLiteralLike(value)) {
      if (isLeadershipValue(value.text)) fallback('leader', node);
      else if (/unhealthy|degraded|failed|not.?serving/i.test(value.text)) doesOtherWork = true;
    } else if (isNullish(value)) {
      if (namesDiscoveryObject(name) || context.isDiscoveryObject(left)) fallback('null-discovery', node);
    } else if (isEmptyOrSelfList(value, sourceFile)) {
      if (namesPeerList(name)) fallback('clear-peers', node);
    } else if (ts.isNumericLiteral(value)) {
      if (name === 'length' && ts.isPropertyAccessExpression(left) && value.text === '0') {
        const owner = chainNames(left.expression);
        if (owner.some((part) => namesPeerList(part))) fallback('clear-peers', node);
      } else if (value.text === '1' && namesClusterSize(name)) fallback('single-node', node);
    }
  };

  /** Returns false when the call's arguments need no further reading (a log line). */
  const classifyCall = (node: ts.CallExpression): boolean => {
    const callee = skipWrappers(node.expression);
    const names = chainNames(callee);
    const name = names[names.length - 1] ?? '';
    const root = names[0];
    const receiver = ts.isPropertyAccessExpression(callee) ? callee.expression : undefined;
    const [firstArgument] = node.arguments;

    if (root === 'process' && /^(exit|abort|kill|reallyExit)$/.test(name)) {
      propagations.push(node);
      return false;
    }
    if (root === 'Promise' && name === 'reject') {
      propagations.push(node);
      return false;
    }
    if (name === 'emit' && firstArgument && ts.isStringLiteralLike(firstArgument)) {
      if (/error|fail/i.test(firstArgument.text)) propagations.push(node);
      else if (isLeadershipEvent(firstArgument.text)) fallback('leader', node);
      else doesOtherWork = true;
      return false;
    }
    const level = logLevelOf(node);
    if (level !== undefined) {
      log(level);
      return false;
    }
    if (names.some((part) => splitWords(part).some((word) => TELEMETRY_WORDS.has(word)))) return false;
    if (namesFallbackCall(name)) {
      fallback('leader', node);
      return false;
    }
    if (
      namesLeadership(name) &&
      firstArgument &&
      (firstArgument.kind === ts.SyntaxKind.TrueKeyword ||
        (ts.isStringLiteralLike(firstArgument) && isLeadershipValue(firstArgument.text)))
    ) {
      fallback('leader', node);
      return false;
    }
    if (/^set(Role|Mode|State)$/.test(name) && firstArgument && ts.isStringLiteralLike(firstArgument)) {
      if (isLeadershipValue(firstArgument.text)) {
        fallback('leader', node);
        return false;
      }
    }
    if (receiver && CLOSE_METHODS.has(name) && context.isDiscoveryObject(receiver)) {
      fallback('close-discovery', node);
      return false;
    }
    if (receiver && CLEAR_METHODS.has(name) && chainNames(receiver).some((part) => namesPeerList(part))) {
      fallback('clear-peers', node);
      return false;
    }
    if (names.some((part) => namesHealth(part)) || /unhealthy|notready|degraded/i.test(name)) {
      doesOtherWork = true;
      return false;
    }
    if (namesRetry(name) || isScheduledRestart(node) || (selfName !== undefined && name === selfName)) {
      // The retry itself; what it calls is the discovery work again, not other handling.
      retriesScheduled += 1;
      return false;
    }
    if (/^(sleep|delay|wait|setTimeout)$/.test(name)) return true;
    const passesError = node.arguments.some((argument) => mentions(argument, errorName));
    if (PROPAGATING_CALLEES.has(name)) {
      if (firstArgument && !isNullish(firstArgument)) {
        propagations.push(node);
        return false;
      }
      return false; // `callback()` / `done(null)`: reports success — swallows.
    }
    if (SUCCESS_CALLEES.has(name)) return false;
    // A predicate that inspects the error (`isSilencedSocketError(err)`) does not hand it on.
    if (/^(is|has|should|can|was)[A-Z_]/.test(name)) return true;
    if (root !== undefined && root === errorName) return false; // err.message.includes(…)
    if (root !== undefined && PURE_ROOTS.has(root)) return true;
    if (passesError) {
      propagations.push(node);
      return false;
    }
    if (
      ts.isIdentifier(callee) &&
      /^(setTimeout|setImmediate|queueMicrotask|String|Number)$/.test(callee.text)
    ) {
      return true;
    }
    doesOtherWork = true;
    return true;
  };

  const isScheduledRestart = (node: ts.CallExpression): boolean => {
    const callee = skipWrappers(node.expression);
    if (!ts.isIdentifier(callee) || !/^(setTimeout|setInterval|setImmediate)$/.test(callee.text))
      return false;
    const [callback] = node.arguments;
    if (!callback) return false;
    let restarts = false;
    const visit = (child: ts.Node): void => {
      if (restarts) return;
      if (ts.isCallExpression(child)) {
        const names = chainNames(child.expression);
        const last = names[names.length - 1] ?? '';
        if (START_LIKE_CALLEES.has(last) || splitWords(last).some((word) => START_LIKE_CALLEES.has(word))) {
          restarts = true;
        }
      }
      ts.forEachChild(child, visit);
    };
    visit(callback);
    return restarts;
  };

  const selfName =
    ts.isFunctionLike(boundSearchRoot) && 'body' in boundSearchRoot
      ? functionName(boundSearchRoot as ts.FunctionLikeDeclaration)
      : undefined;
  let statementCount = 0;
  const visit = (node: ts.Node): void => {
    if (ts.isStatement(node) && !ts.isBlock(node) && !ts.isEmptyStatement(node)) statementCount += 1;
    if (ts.isThrowStatement(node)) {
      propagations.push(node);
      return;
    }
    if (ts.isCallExpression(node)) {
      if (!classifyCall(node)) return;
    } else if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
      node.operatorToken.kind <= ts.SyntaxKind.LastAssignment
    ) {
      classifyAssignment(node);
    } else if (ts.isReturnStatement(node) && node.expression) {
      // `return -1` / `return false` to a plugin host or caller: the failure is handed back as a value.
      if (isFailureStatus(node.expression)) propagations.push(node);
      else classifyReturned(node.expression, node);
    } else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) {
      const value = skipWrappers(node.initializer);
      if (value.kind === ts.SyntaxKind.TrueKeyword && namesLeadership(node.name.text))
        fallback('leader', node);
      if (
        ts.isStringLiteralLike(value) &&
        /^(role|mode|state)$/i.test(node.name.text) &&
        isLeadershipValue(value.text)
      ) {
        fallback('leader', node);
      }
    } else if (ts.isDeleteExpression(node)) {
      const name = assignedName(node.expression);
      if (name !== undefined && namesDiscoveryObject(name)) fallback('null-discovery', node);
    }
    ts.forEachChild(node, visit);
  };
  const classifyReturned = (expression: ts.Expression, site: ts.Node): void => {
    if (isEmptyOrSelfList(expression, sourceFile)) fallback('clear-peers', site);
  };

  if (ts.isBlock(body)) {
    visit(body);
  } else {
    // An expression-bodied arrow returns its expression: `.catch(() => [])`.
    statementCount += 1;
    classifyReturned(body as ts.Expression, body);
    visit(body);
  }

  const standing = fallbacks.filter(
    (candidate) =>
      !pathReachesPropagation(candidate.node, body, propagations) &&
      // Closing or dropping the socket and scheduling discovery's start again is a restart, not
      // switching discovery off; the restart itself is judged as a retry.
      !(RESTART_TEARDOWN.has(candidate.kind) && retriesScheduled > 0),
  );
  let retryVerdict: HandlerVerdict['retry'] = 'none';
  if (retriesScheduled > 0) retryVerdict = hasAttemptBound(boundSearchRoot) ? 'bounded' : 'unbounded';
  return {
    fallbacks: standing,
    propagates: propagations.length > 0,
    doesOtherWork,
    retry: retryVerdict,
    logLevel,
    empty: statementCount === 0,
  };
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
