/**
 * Whether a handler runs again on a schedule: a timer's tick in the same file, or a function named
 * for a periodic step. A logged failure there is tried again next round.
 */
import { ts } from '../../../syntax/index.js';
import {
  chainNames,
  containsCall,
  functionName,
  functionsAround,
  isSelfReference,
  listenedTo,
} from './context.js';
import { skipWrappers, withoutBind } from './modules.js';
import { splitWords } from './names.js';

/**
 * The functions a file runs on every tick of a `setInterval`: the callback itself, the named
 * functions it hands over (`setInterval(this.renew.bind(this))`) or calls (`() => this.renew()`),
 * and the file's functions those call in turn. Kept per file: every handler in the file asks.
 */
interface Ticked {
  readonly callbacks: Set<ts.Node>;
  /** Functions the timer's callback hands over or calls. */
  readonly names: Set<string>;
  /** Those, and the file's functions they call in turn. */
  readonly reached: Set<string>;
}

const tickedByFile = new WeakMap<ts.SourceFile, Ticked>();

function tickedFunctions(sourceFile: ts.SourceFile): Ticked {
  let ticked = tickedByFile.get(sourceFile);
  if (ticked !== undefined) return ticked;
  const found = { callbacks: new Set<ts.Node>(), names: new Set<string>(), reached: new Set<string>() };
  // One walk: the file's named function bodies, and its timers (judged once the bodies are known).
  const bodies = new Map<string, ts.Node[]>();
  const timers: {
    readonly call: ts.CallExpression;
    readonly timer: string;
    readonly callback: ts.Expression;
  }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const name = functionName(node as ts.FunctionLikeDeclaration);
      if (name !== undefined) {
        const known = bodies.get(name);
        if (known) known.push(node.body);
        else bodies.set(name, [node.body]);
      }
    } else if (ts.isCallExpression(node)) {
      const names = chainNames(node.expression);
      const [callback] = node.arguments;
      const timer = names[names.length - 1];
      if (callback !== undefined && (timer === 'setInterval' || timer === 'setTimeout')) {
        timers.push({ call: node, timer, callback });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  for (const { call, timer, callback } of timers) {
    if (timer === 'setTimeout' && !reArmsItself(call, callback, bodies)) continue;
    const ticks = withoutBind(callback);
    if (ts.isArrowFunction(ticks) || ts.isFunctionExpression(ticks)) {
      found.callbacks.add(ticks);
      containsCall(ticks, (name, call) => {
        if (callsOwnFunction(call)) found.names.add(name);
        return false;
      });
    } else {
      const handed = chainNames(ticks);
      const name = handed[handed.length - 1];
      if (name !== undefined) found.names.add(name);
    }
  }
  addSleepLoops(bodies, found.names);
  found.names.forEach((name) => found.reached.add(name));
  addCalledFunctions(bodies, found.reached);
  ticked = found;
  tickedByFile.set(sourceFile, ticked);
  return ticked;
}

/**
 * `tick()`, `this.renew()`, `self.ping()`: a call that can reach a function of this file by name.
 * `this.client.search()` on a tick does not make the file's own `search()` periodic.
 */
function callsOwnFunction(call: ts.CallExpression): boolean {
  const callee = skipWrappers(call.expression);
  return (
    ts.isIdentifier(callee) || (ts.isPropertyAccessExpression(callee) && isSelfReference(callee.expression))
  );
}

/**
 * `function loop() { …; setTimeout(loop, 5000) }`, `scheduleRetry() { setTimeout(async () => { await
 * this.tryAgain(); this.scheduleRetry() }, ms) }`, or one call apart (`schedule()` sets a timeout
 * that runs `update()`, and `update()` calls `schedule()` when it is done): a timeout that leads back
 * to the function that set it sets itself again, a tick as regular as `setInterval`'s.
 */
function reArmsItself(
  timerCall: ts.CallExpression,
  callback: ts.Expression,
  bodies: ReadonlyMap<string, readonly ts.Node[]>,
): boolean {
  // A timeout set by a failure handler is that handler's retry, judged as one, not a schedule.
  if (inFailureHandler(timerCall)) return false;
  const arming = new Set<string>();
  for (const fn of functionsAround(timerCall)) {
    const name = functionName(fn);
    if (name !== undefined) arming.add(name);
  }
  if (arming.size === 0) return false;
  const leadsBack = (name: string): boolean =>
    arming.has(name) ||
    (bodies.get(name) ?? []).some((body) => containsCall(body, (called) => arming.has(called)));
  const ticks = withoutBind(callback);
  if (ts.isArrowFunction(ticks) || ts.isFunctionExpression(ticks)) return containsCall(ticks, leadsBack);
  const handed = chainNames(ticks);
  return leadsBack(handed[handed.length - 1] ?? '');
}

/** Inside a `catch` clause, an `'error'` or `'close'` listener or a `.catch()` callback. */
function inFailureHandler(site: ts.Node): boolean {
  for (let node: ts.Node | undefined = site.parent; node; node = node.parent) {
    if (ts.isCatchClause(node)) return true;
    if (ts.isFunctionLike(node)) {
      const listened = listenedTo(node);
      if (listened?.event === 'error' || listened?.event === 'close' || listened?.method === 'catch')
        return true;
    }
  }
  return false;
}

/** How many calls deep a tick is followed into the file's own functions (`initsocket` → `_listen_iface`). */
const TICK_DEPTH = 2;

/**
 * `async schedule(s) { await sleep(s * 1000); this.update() }` where `update()` ends by calling
 * `schedule(…)`: a loop paced by a sleep instead of a timer; `update` runs on every round.
 */
function addSleepLoops(bodies: ReadonlyMap<string, readonly ts.Node[]>, names: Set<string>): void {
  for (const [pacer, pacerBodies] of bodies) {
    for (const body of pacerBodies) {
      if (!containsCall(body, (called) => SLEEP_CALLS.test(called))) continue;
      containsCall(body, (called) => {
        if (
          called !== pacer &&
          (bodies.get(called) ?? []).some((step) => containsCall(step, (back) => back === pacer))
        )
          names.add(called);
        return false;
      });
    }
  }
}

const SLEEP_CALLS = /^(sleep|delay|wait|setTimeoutPromise)$/;

/** Adds to `names` the functions of this file that the named ones call, `TICK_DEPTH` calls deep. */
function addCalledFunctions(bodies: ReadonlyMap<string, readonly ts.Node[]>, names: Set<string>): void {
  let frontier = [...names];
  for (let depth = 0; depth < TICK_DEPTH && frontier.length > 0; depth += 1) {
    const next: string[] = [];
    for (const body of frontier.flatMap((name) => bodies.get(name) ?? [])) {
      containsCall(body, (called) => {
        if (bodies.has(called) && !names.has(called)) {
          names.add(called);
          next.push(called);
        }
        return false;
      });
    }
    frontier = next;
  }
}

/**
 * True when `site` runs on every tick of a `setInterval` in its file (inside the timer's callback,
 * or in a function the timer calls by name) or in a function named for a periodic step
 * (`runHeartbeat`, `onTick`), whatever schedules it. A failure there that is logged is tried
 * again next tick (a renewal, a heartbeat, a periodic announcement), which is not discovery
 * switched off.
 */
export function runsEveryTick(site: ts.Node, sourceFile: ts.SourceFile): boolean {
  const { names } = tickedFunctions(sourceFile);
  return inTickedFunction(site, sourceFile, (name) => names.has(name) || namesPeriodicStep(name));
}

/**
 * True when `site` is in a function a timer reaches, through the file's own calls
 * (`setInterval(() => this.initsocket())` → `initsocket` → `_listen_iface`): a socket made there
 * when it is missing is made again on the next tick, so closing it on error is a restart.
 */
export function remadeEveryTick(site: ts.Node, sourceFile: ts.SourceFile): boolean {
  const { reached } = tickedFunctions(sourceFile);
  return inTickedFunction(site, sourceFile, (name) => reached.has(name));
}

/** A function around `site` is a timer's callback, or is named so that `ticks(name)` holds. */
function inTickedFunction(
  site: ts.Node,
  sourceFile: ts.SourceFile,
  ticks: (name: string) => boolean,
): boolean {
  const { callbacks } = tickedFunctions(sourceFile);
  for (const fn of functionsAround(site)) {
    if (callbacks.has(fn)) return true;
    const name = functionName(fn);
    if (name !== undefined && ticks(name)) return true;
  }
  return false;
}

const PERIODIC_WORDS = new Set(['heartbeat', 'heartbeats', 'tick', 'periodic']);

/** `runHeartbeat`, `onTick`, `periodicRefresh`: a step that runs again on its own schedule. */
function namesPeriodicStep(name: string): boolean {
  return splitWords(name).some((word) => PERIODIC_WORDS.has(word));
}

/**
 * `try { client.search(st) } catch (e) { log(e) }` followed by `setInterval(() => client.search(st),
 * 50000)`: the same call is made again on a timer the function sets up, so a first attempt that
 * fails and is logged is tried again next round.
 */
export function repeatedOnATimer(tryStatement: ts.TryStatement, work: ts.Node): boolean {
  if (!ts.isCallExpression(work)) return false;
  const signature = callSignature(work);
  const owner = ts.findAncestor(
    tryStatement.parent,
    (node) => ts.isFunctionLike(node) || ts.isSourceFile(node),
  );
  if (signature === undefined || owner === undefined) return false;
  return containsCall(owner, (name, call) => {
    const [callback] = call.arguments;
    return (
      name === 'setInterval' &&
      ts.isIdentifier(skipWrappers(call.expression)) &&
      callback !== undefined &&
      containsCall(callback, (_called, inner) => inner !== work && callSignature(inner) === signature)
    );
  });
}

/** `client.search` for `client.search(st)`: the callee's text, or undefined for anything else. */
function callSignature(call: ts.CallExpression): string | undefined {
  const callee = skipWrappers(call.expression);
  return ts.isPropertyAccessExpression(callee) || ts.isIdentifier(callee) ? callee.getText() : undefined;
}
