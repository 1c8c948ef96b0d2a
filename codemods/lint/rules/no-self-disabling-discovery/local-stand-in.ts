/**
 * The fallback this kit exists for, written as a type: a `try` that makes the shared, cross-process
 * implementation (Redis presence, a cluster driver) and, when that fails, a process-local one
 * (`new LocalPresence()`, `new MemoryStore()`). Every process that fails the same way runs alone.
 */
import { ts } from '../../../syntax/index.js';
import { skipWrappers } from './modules.js';
import { splitWords } from './names.js';

/** First words of class names that say "this process only". */
const LOCAL_WORDS = new Set(['local', 'memory', 'inmemory', 'standalone', 'single', 'singlenode']);

/** What was found: the construction of the stand-in, and of what it stands in for, for the message. */
export interface LocalStandIn {
  readonly node: ts.NewExpression;
  /** The shared implementation the `try` makes (`new RedisPresence(uri)`). */
  readonly replaced: ts.NewExpression;
}

/**
 * `try { return new RedisPresence(uri) } catch (e) { log(e) } return new LocalPresence()`, or the
 * stand-in made in the catch itself: the `try` makes something that is not local, and the failure
 * path makes a local stand-in in its place.
 */
export function fallsBackToLocalStandIn(tryStatement: ts.TryStatement): LocalStandIn | undefined {
  const clause = tryStatement.catchClause;
  const replaced = firstConstruction(tryStatement.tryBlock, (made) => !isLocalClass(made));
  if (!clause || !replaced) return undefined;
  const inHandler = firstConstruction(clause.block, isLocalClass);
  if (inHandler) return { node: inHandler, replaced };
  // Reached after the catch only when the try did not return.
  if (!returnsFromTry(tryStatement.tryBlock)) return undefined;
  const block = tryStatement.parent;
  const after = ts.isBlock(block) ? block.statements.slice(block.statements.indexOf(tryStatement) + 1) : [];
  const container = ts.isIfStatement(block.parent) || ts.isBlock(block.parent) ? block.parent : undefined;
  // `if (cloud) { try { return new Redis…() } catch {…} } return new Local…()`: the statement after the if.
  const outer =
    after.length === 0 && container && ts.isIfStatement(container) && ts.isBlock(container.parent)
      ? container.parent.statements.slice(container.parent.statements.indexOf(container) + 1)
      : [];
  for (const statement of [...after, ...outer]) {
    if (ts.isReturnStatement(statement) && statement.expression) {
      const made = skipWrappers(statement.expression);
      return ts.isNewExpression(made) && isLocalClass(made) ? { node: made, replaced } : undefined;
    }
    if (!ts.isExpressionStatement(statement)) return undefined;
  }
  return undefined;
}

function isLocalClass(made: ts.NewExpression): boolean {
  const callee = skipWrappers(made.expression);
  const name = ts.isIdentifier(callee)
    ? callee.text
    : ts.isPropertyAccessExpression(callee)
      ? callee.name.text
      : undefined;
  return name !== undefined && LOCAL_WORDS.has(splitWords(name)[0] ?? '');
}

/** The first `new …` in `block` (nested functions left out) that `test` accepts. */
function firstConstruction(
  block: ts.Block,
  test: (made: ts.NewExpression) => boolean,
): ts.NewExpression | undefined {
  let found: ts.NewExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (found || ts.isFunctionLike(node)) return;
    if (ts.isNewExpression(node) && test(node)) found = node;
    else ts.forEachChild(node, visit);
  };
  visit(block);
  return found;
}

function returnsFromTry(block: ts.Block): boolean {
  return block.statements.some((statement) => ts.isReturnStatement(statement));
}
