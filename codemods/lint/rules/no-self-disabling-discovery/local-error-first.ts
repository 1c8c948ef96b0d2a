import { ts } from '../../../syntax/index.js';
import type { DiscoveryContext } from './context.js';
import { containsCall, functionName, functionsAround } from './context.js';
import { looksLikeErrorName } from './error-branches.js';
import { skipWrappers } from './modules.js';
import { namesDiscovery } from './names.js';
import { findDiscoveryWork } from './work.js';

/** Per callee and callback position: whether that callback is where the callee reports a failure. */
const verdictsByCallee = new WeakMap<ts.FunctionLikeDeclaration, Map<number, boolean>>();

/**
 * `this.announce(port, meta, () => false)` or `self.startConsole(function () { … })`, where the callee
 * is a function of this file that hands its failure to that callback (`cb(err)`,
 * `callback(new Error(…))`) and does discovery work: the callback is error-first by the callee's own
 * code, whatever its parameters are called. Returns the callee's name, or undefined.
 */
export function localErrorFirstDiscovery(
  call: ts.CallExpression | ts.NewExpression,
  callback: ts.Node,
  context: DiscoveryContext,
): string | undefined {
  const target = context.localCallee(call);
  if (!target?.body) return undefined;
  // The argument holds the callback (`fn` or `fn.bind(this)`).
  const position = (call.arguments ?? []).findIndex(
    (argument) => argument.pos <= callback.pos && callback.end <= argument.end,
  );
  if (position < 0) return undefined;
  let verdicts = verdictsByCallee.get(target);
  if (verdicts === undefined) {
    verdicts = new Map();
    verdictsByCallee.set(target, verdicts);
  }
  let verdict = verdicts.get(position);
  if (verdict === undefined) {
    verdict = callsBackWithError(target, position) && doesDiscoveryWork(target, context);
    verdicts.set(position, verdict);
  }
  return verdict ? (functionName(target) ?? describeCall(call)) : undefined;
}

function describeCall(call: ts.CallExpression | ts.NewExpression): string {
  const callee = skipWrappers(call.expression);
  return ts.isPropertyAccessExpression(callee) ? callee.name.text : callee.getText();
}

/** True when the parameter at `position` is called somewhere with an error as its first argument. */
function callsBackWithError(target: ts.FunctionLikeDeclaration, position: number): boolean {
  const parameter = target.parameters[position];
  if (!target.body || !parameter || parameter.dotDotDotToken || !ts.isIdentifier(parameter.name))
    return false;
  const name = parameter.name.text;
  return containsCall(target.body, (_called, call) => handsAnErrorTo(call, name));
}

/**
 * `cb(err)`, `cb.call(this, err)`, and the callback handed to an invoker with the error after it:
 * `utils.invokeCallback(cb, err)`, `process.nextTick(cb, err)`.
 */
function handsAnErrorTo(call: ts.CallExpression, name: string): boolean {
  const callee = skipWrappers(call.expression);
  const args = call.arguments;
  const isTheCallback = (node: ts.Expression): boolean => {
    const inner = skipWrappers(node);
    return ts.isIdentifier(inner) && inner.text === name;
  };
  if (isTheCallback(callee)) return args[0] !== undefined && isAnError(args[0]);
  if (
    ts.isPropertyAccessExpression(callee) &&
    (callee.name.text === 'call' || callee.name.text === 'apply') &&
    isTheCallback(callee.expression)
  ) {
    return args[1] !== undefined && (callee.name.text === 'apply' || isAnError(args[1]));
  }
  const at = args.findIndex(isTheCallback);
  return at >= 0 && args[at + 1] !== undefined && isAnError(args[at + 1]!);
}

/** `err`, `error`, `new Error(…)`, `new TimeoutError(…)`: what a failure is handed on as. */
function isAnError(argument: ts.Expression): boolean {
  const value = skipWrappers(argument);
  if (ts.isIdentifier(value)) return looksLikeErrorName(value.text);
  if (ts.isNewExpression(value) || ts.isCallExpression(value)) {
    const made = skipWrappers(value.expression);
    const name = ts.isPropertyAccessExpression(made)
      ? made.name.text
      : ts.isIdentifier(made)
        ? made.text
        : '';
    return /Error$/.test(name);
  }
  return false;
}

/** Named for discovery, or calls what the rule knows as discovery work. */
function doesDiscoveryWork(target: ts.FunctionLikeDeclaration, context: DiscoveryContext): boolean {
  const name = functionName(target);
  if (name !== undefined && namesDiscovery(name)) return true;
  return findDiscoveryWork(target.body!, context) !== undefined;
}

/**
 * `self.heal(function onHeal() { scheduleNext(); })` in `_run`, where `scheduleNext` sets a timer that
 * calls `_run` (or `self.tick(function () { …; self.run(); })` in `run`'s timer): the callback runs
 * the step again, directly or through a function of this file, so a failure it drops is tried again
 * next round.
 */
export function callbackRunsTheStepAgain(
  call: ts.Node,
  callback: ts.FunctionLikeDeclaration,
  context: DiscoveryContext,
): boolean {
  // Every named function around the call is the step (`run` → `setTimeout(function onGossipTimer…)`).
  const steps = new Set<string>();
  for (const around of functionsAround(call)) {
    const name = functionName(around);
    if (name !== undefined) steps.add(name);
  }
  if (steps.size === 0 || !callback.body) return false;
  const seen = new Set<ts.Node>();
  const reaches = (body: ts.Node, depth: number): boolean =>
    containsCall(body, (name, inner) => {
      if (steps.has(name)) return true;
      if (depth === 0) return false;
      const target = context.localCallee(inner);
      if (!target?.body || seen.has(target)) return false;
      seen.add(target);
      return reaches(target.body, depth - 1);
    });
  return reaches(callback.body, 2);
}
