/** Code that renders a screen: its handlers are the screen's, not a service's discovery. */
import { ts } from '../../../syntax/index.js';
import { functionsAround } from './context.js';

/**
 * `function SourceDiscovery() { … return <Table …/> }`: a user-interface component, whose fetches
 * fill a screen. Whatever it calls "discovery", a failure there is shown or logged in the browser,
 * not a service losing its peers. Read only in JSX files.
 */
export function inUserInterfaceComponent(site: ts.Node, sourceFile: ts.SourceFile): boolean {
  if (sourceFile.languageVariant !== ts.LanguageVariant.JSX) return false;
  for (const fn of functionsAround(site)) if (fn.body && rendersJsx(fn.body)) return true;
  return false;
}

/** JSX in a function's own body (nested functions left out: a callback that renders is not the component). */
function rendersJsx(body: ts.Node): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isJsxElement(node) || ts.isJsxSelfClosingElement(node) || ts.isJsxFragment(node)) {
      found = true;
      return;
    }
    if (!ts.isFunctionLike(node)) ts.forEachChild(node, visit);
  };
  visit(body);
  return found;
}
