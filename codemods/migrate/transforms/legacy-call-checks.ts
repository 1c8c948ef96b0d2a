import { Node, SyntaxKind, type SourceFile } from 'ts-morph';
import { reviewAt } from '../constructor-options.js';
import type { ConstructorCall } from '../module-rewrite.js';
import type { ReviewItem } from '../types.js';

/**
 * Twice the worse p99 of a shim channel's send-to-receive latency with the default bus settings
 * (`bench/shim-channel-latency.ts`: 1224 ms for node-discover, 1158 ms for democracy, so 2449 ms,
 * rounded up). A request/response timeout below it fires before a reply can arrive.
 */
export const CHANNEL_TIMEOUT_FLOOR_MS = 2500;

/** What one legacy module's checks look for. */
export interface LegacyCallChecks {
  /** The legacy module, for messages. */
  module: string;
  /** Methods that send on a channel (`send`, `publish`). */
  sendMethods: readonly string[];
  /** A method whose legacy result was synchronous and now comes with an event, and what to say. */
  asyncResults?: Readonly<Record<string, string>>;
  /** Whether `stop()` followed by `process.exit()` loses the lease release. */
  checkStopThenExit: boolean;
}

/**
 * Findings (never edits) at call sites whose behaviour the shim cannot keep: `stop()` followed by
 * `process.exit()`, request/response timeouts below the bus latency, and results that became
 * asynchronous. Receivers are the variables and properties the legacy constructor's result is
 * assigned to, so an unrelated `server.stop()` is not reported.
 */
export function legacyCallFindings(
  sourceFile: SourceFile,
  constructorCalls: readonly ConstructorCall[],
  checks: LegacyCallChecks,
): ReviewItem[] {
  const receivers = new Set<string>();
  for (const { call } of constructorCalls) {
    const parent = call.getParent();
    if (Node.isVariableDeclaration(parent)) receivers.add(parent.getName());
    else if (
      Node.isBinaryExpression(parent) &&
      parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken
    ) {
      receivers.add(parent.getLeft().getText());
    } else if (Node.isPropertyDeclaration(parent)) receivers.add(`this.${parent.getName()}`);
  }
  if (receivers.size === 0) return [];
  const reviews: ReviewItem[] = [];
  let sends = false;
  for (const call of sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || !receivers.has(callee.getExpression().getText()))
      continue;
    const method = callee.getName();
    if (checks.sendMethods.includes(method)) sends = true;
    const note = checks.asyncResults?.[method];
    if (note !== undefined) reviews.push(reviewAt(call, note));
    if (method === 'stop' && checks.checkStopThenExit && exitFollows(call)) {
      reviews.push(
        reviewAt(
          call,
          `${checks.module} stop() followed by process.exit(): the shim's stop() starts the lease release and keeps the process alive until it lands, but process.exit() ends it first (a follower then waits a full lease, 15 s or more, and the member row lingers); await the promise stop() returns before exiting`,
        ),
      );
    }
  }
  if (sends) {
    for (const call of sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      if (call.getExpression().getText() !== 'setTimeout') continue;
      const delay = call.getArguments()[1];
      if (!delay || !Node.isNumericLiteral(delay)) continue;
      const ms = delay.getLiteralValue();
      if (ms >= CHANNEL_TIMEOUT_FLOOR_MS) continue;
      reviews.push(
        reviewAt(
          call,
          `a ${ms} ms timeout in a file that sends on ${checks.module} channels: a shim channel delivers in one bus poll (p99 about 1.2 s with the defaults, docs/shims.md), so a request/response timeout below ${CHANNEL_TIMEOUT_FLOOR_MS} ms fires before the reply; raise it or shorten gossipless.bus.pollIntervalMs`,
        ),
      );
    }
  }
  return reviews;
}

/** True when a statement after the one holding `call`, in the same block, calls `process.exit`. */
function exitFollows(call: Node): boolean {
  const statement =
    call.getFirstAncestor((n) => Node.isStatement(n) && Node.isBlock(n.getParent() ?? n)) ??
    call.getFirstAncestor((n) => Node.isStatement(n) && Node.isSourceFile(n.getParent() ?? n));
  if (!statement) return false;
  for (const next of statement.getNextSiblings()) {
    for (const inner of [next, ...next.getDescendantsOfKind(SyntaxKind.CallExpression)]) {
      if (!Node.isCallExpression(inner) && !Node.isExpressionStatement(inner)) continue;
      const text = Node.isCallExpression(inner) ? inner.getExpression().getText() : '';
      if (text === 'process.exit') {
        // A call inside a callback (e.g. a timer or the promise stop() returns) runs later: not this pattern.
        const fn = inner.getFirstAncestor(
          (n) => Node.isFunctionLikeDeclaration(n) || Node.isArrowFunction(n),
        );
        const own = statement.getFirstAncestor(
          (n) => Node.isFunctionLikeDeclaration(n) || Node.isArrowFunction(n),
        );
        if (fn === own) return true;
      }
    }
  }
  return false;
}
