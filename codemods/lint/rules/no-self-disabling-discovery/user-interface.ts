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
  // A class component: `class SettingsMdns extends Component { async load() {…} render() { return <…/> } }`.
  const owner = ts.findAncestor(site, ts.isClassLike);
  return (
    owner !== undefined &&
    owner.members.some(
      (member) =>
        ts.isMethodDeclaration(member) &&
        ts.isIdentifier(member.name) &&
        member.name.text === 'render' &&
        member.body !== undefined &&
        rendersJsx(member.body),
    )
  );
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

/** Packages that parse a command line: a file that loads one is a command someone runs by hand. */
const COMMAND_LINE_PACKAGES =
  /(?:from\s+|require\(\s*)['"](?:commander|@commander-js\/extra-typings|yargs(?:\/yargs)?|meow|cac|sade|@oclif\/core|minimist)['"]/;

const commandLineFiles = new WeakMap<ts.SourceFile, boolean>();

/**
 * A file that parses its command line (a CLI package, or `#!/usr/bin/env node` reading
 * `process.argv`): a command-line tool, whose person at the terminal is the caller. A discovery
 * command that prints its error at warn or error level has told that caller; it has not gone on
 * without discovery behind anyone's back. (A shebang alone is also how `bin/www` starts a server.)
 */
export function inCommandLineTool(sourceFile: ts.SourceFile): boolean {
  let known = commandLineFiles.get(sourceFile);
  if (known === undefined) {
    const { text } = sourceFile;
    known = COMMAND_LINE_PACKAGES.test(text) || (text.startsWith('#!') && text.includes('process.argv'));
    commandLineFiles.set(sourceFile, known);
  }
  return known;
}
