import path from 'node:path';
import { Node, SyntaxKind, ts, type SourceFile } from 'ts-morph';
import { formatDuration } from '../../../src/edge/duration.js';
import { findOptionValue, reviewAt, unwrapExpression } from '../constructor-options.js';
import { evaluateNumber, evaluateString } from '../const-eval.js';
import { rewriteModule, type ConstructorCall } from '../module-rewrite.js';
import { descendantsOfKind } from '../node-index.js';
import {
  ownValue,
  type ExtractedRateLimit,
  type ModuleMapping,
  type RateLimitKey,
  type ReviewItem,
  type Transform,
  type TransformContext,
} from '../types.js';

/** Module specifier of the CRDT rate limiter shim. */
export const CRDT_RATE_LIMITER_SHIM = '@gossipless/runtime/shims/crdt-rate-limiter';
/** The shim's constructor export. */
export const CRDT_RATE_LIMITER_EXPORT = 'CrdtRateLimiter';

/**
 * Code that already imports the shim: nothing to rewrite, but its limits are extracted again, so a
 * second run writes the same rules file (and therefore does not write it at all).
 */
export const crdtRateLimiterShimMapping: ModuleMapping = {
  name: CRDT_RATE_LIMITER_SHIM,
  from: { kind: 'specifier', specifier: CRDT_RATE_LIMITER_SHIM },
  to: CRDT_RATE_LIMITER_SHIM,
  exports: {},
  constructorExport: CRDT_RATE_LIMITER_EXPORT,
  renameOptions: {},
  removeOptions: {},
  preCheck: [CRDT_RATE_LIMITER_SHIM],
  extractOnly: true,
};

/** True when the mapping points a legacy limiter's constructor at the shim's `CrdtRateLimiter`. */
export function isCrdtRateLimiterMapping(mapping: ModuleMapping): boolean {
  return (
    mapping.to === CRDT_RATE_LIMITER_SHIM &&
    (ownValue(mapping.exports, mapping.constructorExport) ?? mapping.constructorExport) ===
      CRDT_RATE_LIMITER_EXPORT
  );
}

/** Extracts the limits of code that already uses the shim. */
export const crdtRateLimiterTransform: Transform = (sourceFile, context) =>
  rewriteAndExtract(sourceFile, crdtRateLimiterShimMapping, context);

/**
 * Rewrites a limiter module's imports (when the mapping is not extract-only) and reads `limit`,
 * `windowMs` and `keyPrefix` at each constructor call, under their legacy names.
 */
export function rewriteAndExtract(
  sourceFile: SourceFile,
  mapping: ModuleMapping,
  context: TransformContext,
): ReturnType<Transform> {
  const { changes, reviews, rateLimits, constructorCalls } = rewriteModule(sourceFile, mapping, context);
  for (const call of constructorCalls) {
    const extracted = extractRateLimit(call, mapping, context);
    if ('review' in extracted) reviews.push(extracted.review);
    else rateLimits.push(extracted.rateLimit);
  }
  return { changes, reviews, rateLimits };
}

function legacyOptionName(mapping: ModuleMapping, shimOption: string): string {
  const entry = Object.entries(mapping.renameOptions).find(([, renamed]) => renamed === shimOption);
  return entry?.[0] ?? shimOption;
}

function extractRateLimit(
  { call, options }: ConstructorCall,
  mapping: ModuleMapping,
  context: TransformContext,
): { rateLimit: ExtractedRateLimit } | { review: ReviewItem } {
  const forHuman = (node: Node, reason: string): { review: ReviewItem } => ({
    review: {
      ...reviewAt(node, `${reason}; write its rule in gossipless.rate-limits.json by hand`),
      kind: 'rate-limit',
    },
  });
  if (options === undefined) {
    const argument = call.getArguments()[0];
    return forHuman(
      call,
      `rate limiter options ${argument === undefined ? 'are missing' : `\`${argument.getText()}\` are built at run time`}`,
    );
  }
  // Options may come through spreads of consts in the file (`{ ...DEFAULTS, max: 5 }`).
  const property = (shimOption: string): Node | undefined => {
    const found = findOptionValue(options, legacyOptionName(mapping, shimOption));
    return found !== undefined && 'value' in found ? found.value : undefined;
  };
  const limitName = legacyOptionName(mapping, 'limit');
  const windowName = legacyOptionName(mapping, 'windowMs');
  const limitNode = property('limit');
  const windowNode = property('windowMs');
  if (limitNode === undefined || windowNode === undefined) {
    const missing = limitNode === undefined ? limitName : windowName;
    const found = findOptionValue(options, missing);
    return forHuman(
      call,
      `rate limiter without a static \`${missing}\` option` +
        (found !== undefined && 'unreadable' in found ? ` (${found.unreadable})` : ''),
    );
  }
  const limit = evaluateNumber(limitNode);
  if (limit === undefined || !Number.isInteger(limit) || limit <= 0) {
    return forHuman(
      limitNode,
      `rate limit \`${limitName}: ${limitNode.getText()}\` is not a constant positive integer`,
    );
  }
  const windowMs = evaluateNumber(windowNode);
  if (windowMs === undefined || !Number.isInteger(windowMs) || windowMs <= 0) {
    return forHuman(
      windowNode,
      `rate window \`${windowName}: ${windowNode.getText()}\` is not a constant number of milliseconds`,
    );
  }
  const keyPrefixNode = property('keyPrefix');
  const keyPrefix = keyPrefixNode === undefined ? undefined : evaluateString(keyPrefixNode);
  const holder = holderName(call);
  const name = ruleName(
    keyPrefix ?? holder ?? `${path.basename(context.relativePath).replace(/\..*$/, '')}-limiter`,
  );
  const { key, note } = guessKey(call.getSourceFile(), holder);
  const { line } = call.getSourceFile().getLineAndColumnAtPos(call.getStart());
  return {
    rateLimit: {
      name,
      limit,
      window: formatDuration(windowMs),
      key,
      line,
      ...(note === undefined ? {} : { note }),
    },
  };
}

/** `apiLimiter` → `api-limiter`; anything outside `[a-z0-9-_]` becomes `-`. */
export function ruleName(raw: string): string {
  const name = raw
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return name === '' ? 'limiter' : name;
}

/** The name the limiter is stored under: `const apiLimiter = new …`, `this.apiLimiter = new …`. */
function holderName(call: Node): string | undefined {
  let node: Node = call;
  for (let parent = node.getParent(); parent !== undefined && unwrapExpression(parent) !== parent;) {
    node = parent;
    parent = node.getParent();
  }
  const parent = node.getParent();
  if (parent === undefined) return undefined;
  if (Node.isVariableDeclaration(parent) && Node.isIdentifier(parent.getNameNode())) return parent.getName();
  if (Node.isPropertyDeclaration(parent) || Node.isPropertyAssignment(parent)) return parent.getName();
  if (Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
    const left = parent.getLeft();
    // `module.exports = new …` names the module, not the limiter: the file name says more.
    if (Node.isPropertyAccessExpression(left))
      return left.getText() === 'module.exports' ? undefined : left.getName();
    if (Node.isIdentifier(left)) return left.getText();
  }
  return undefined;
}

/**
 * The edge needs to know what a request is counted by; the limiter learnt it only at call time
 * (`tryConsume(key)`). The argument of the limiter's `tryConsume` calls in this file is read for
 * the usual shapes (`req.ip`, a header, the path, a JWT claim); anything else is a guess, and says so.
 */
function guessKey(sourceFile: SourceFile, holder: string | undefined): { key: RateLimitKey; note?: string } {
  if (holder === undefined)
    return { key: 'ip', note: "limiter key chosen at call time; 'ip' is a guess, review" };
  const keys = new Set<RateLimitKey>();
  const unknown: string[] = [];
  const namedTryConsume = (node: ts.Node): boolean =>
    ts.idText((node as ts.PropertyAccessExpression).name) === 'tryConsume';
  for (const access of descendantsOfKind(sourceFile, SyntaxKind.PropertyAccessExpression, namedTryConsume)) {
    if (access.getName() !== 'tryConsume') continue;
    const target = access.getExpression();
    const targetName = Node.isPropertyAccessExpression(target) ? target.getName() : target.getText();
    if (targetName !== holder) continue;
    const call = access.getParent();
    if (!Node.isCallExpression(call) || call.getExpression() !== access) continue;
    const argument = call.getArguments()[0];
    if (argument === undefined) continue;
    const key = keyOf(argument.getText());
    if (key === undefined) unknown.push(argument.getText());
    else keys.add(key);
  }
  if (keys.size === 1 && unknown.length === 0) return { key: [...keys][0]! };
  if (keys.size === 0 && unknown.length === 0) {
    return { key: 'ip', note: `no ${holder}.tryConsume(key) call in this file; 'ip' is a guess, review` };
  }
  const seen = [...[...keys].map((key) => `'${key}'`), ...unknown.map((text) => `\`${text}\``)].join(', ');
  const chosen = keys.size > 0 ? [...keys][0]! : 'ip';
  return { key: chosen, note: `limiter keyed by ${seen} at call time; '${chosen}' is a guess, review` };
}

function keyOf(argument: string): RateLimitKey | undefined {
  const header =
    /headers\s*\[\s*['"`]([^'"`]+)['"`]\s*\]/.exec(argument) ??
    /headers\.([A-Za-z0-9_]+)/.exec(argument) ??
    /\.(?:get|header)\(\s*['"`]([^'"`]+)['"`]\s*\)/.exec(argument);
  if (header?.[1] !== undefined) return `header:${header[1].toLowerCase()}`;
  const claim = /\b(?:user|jwt|claims|token|auth)\.([A-Za-z0-9_]+)\b/.exec(argument);
  if (claim?.[1] !== undefined) return `jwt:${claim[1]}`;
  if (/\.ip\b|remoteAddress|\bip\b/.test(argument)) return 'ip';
  if (/\.(?:path|url|originalUrl)\b/.test(argument)) return 'path';
  return undefined;
}
