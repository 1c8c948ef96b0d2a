/**
 * Whether a handler runs again on a schedule: a timer's tick in the same file, or a function named
 * for a periodic step. A logged failure there is tried again next round.
 */
import { ts } from '../../../syntax/index.js';
import { chainNames, containsCall, functionName } from './context.js';
import { withoutBind } from './modules.js';
import { splitWords } from './names.js';

/**
 * The functions a file runs on every tick of a `setInterval`: the callback itself, and the named
 * functions it hands over (`setInterval(this.renew.bind(this))`) or calls (`() => this.renew()`).
 * Kept per file: every handler in the file asks.
 */
const tickedByFile = new WeakMap<ts.SourceFile, { callbacks: Set<ts.Node>; names: Set<string> }>();

function tickedFunctions(sourceFile: ts.SourceFile): { callbacks: Set<ts.Node>; names: Set<string> } {
  let ticked = tickedByFile.get(sourceFile);
  if (ticked !== undefined) return ticked;
  const found = { callbacks: new Set<ts.Node>(), names: new Set<string>() };
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const names = chainNames(node.expression);
      const [callback] = node.arguments;
      if (names[names.length - 1] === 'setInterval' && callback !== undefined) {
        const ticks = withoutBind(callback);
        if (ts.isArrowFunction(ticks) || ts.isFunctionExpression(ticks)) {
          found.callbacks.add(ticks);
          containsCall(ticks, (name) => {
            found.names.add(name);
            return false;
          });
        } else {
          const handed = chainNames(ticks);
          const name = handed[handed.length - 1];
          if (name !== undefined) found.names.add(name);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  ticked = found;
  tickedByFile.set(sourceFile, ticked);
  return ticked;
}

/**
 * True when `site` runs on every tick of a `setInterval` in its file (inside the timer's callback,
 * or in a function the timer calls by name) or in a function named for a periodic step
 * (`runHeartbeat`, `onTick`), whatever schedules it. A failure there that is logged is tried
 * again next tick (a renewal, a heartbeat, a periodic announcement), which is not discovery
 * switched off.
 */
export function runsEveryTick(site: ts.Node, sourceFile: ts.SourceFile): boolean {
  const ticked = tickedFunctions(sourceFile);
  for (let current: ts.Node | undefined = site.parent; current; current = current.parent) {
    if (!ts.isFunctionLike(current)) continue;
    if (ticked.callbacks.has(current)) return true;
    const name = functionName(current as ts.FunctionLikeDeclaration);
    if (name !== undefined && (ticked.names.has(name) || namesPeriodicStep(name))) return true;
  }
  return false;
}

const PERIODIC_WORDS = new Set(['heartbeat', 'heartbeats', 'tick', 'periodic']);

/** `runHeartbeat`, `onTick`, `periodicRefresh`: a step that runs again on its own schedule. */
function namesPeriodicStep(name: string): boolean {
  return splitWords(name.replace(/^#/, '')).some((word) => PERIODIC_WORDS.has(word));
}
