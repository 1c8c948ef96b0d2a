import { extname } from 'node:path';
import { ts } from '../syntax/index.js';

export { LINTED_EXTENSIONS } from './extensions.js';

/** A parsed file, or why it could not be parsed. */
export type ParseResult =
  | { readonly ok: true; readonly sourceFile: ts.SourceFile }
  | { readonly ok: false; readonly message: string; readonly line: number; readonly column: number };

function scriptKindOf(fileName: string): ts.ScriptKind {
  switch (extname(fileName).toLowerCase()) {
    case '.tsx':
      return ts.ScriptKind.TSX;
    case '.jsx':
      return ts.ScriptKind.JSX;
    case '.js':
    case '.mjs':
    case '.cjs':
      // JS script kind parses JSX too, as React code in .js files needs.
      return ts.ScriptKind.JS;
    default:
      return ts.ScriptKind.TS;
  }
}

/**
 * Parses one file with the TypeScript parser alone: no Program, no type checker, no lib files —
 * the rule reads syntax and imports, which is all a lint over thousands of files can afford.
 * A file with syntax errors is reported with the parser's first message rather than linted from a
 * half-recovered tree, where a missing brace could make a catch look empty.
 */
export function parseSource(fileName: string, text: string): ParseResult {
  const sourceFile = ts.createSourceFile(
    fileName,
    text,
    ts.ScriptTarget.Latest,
    true,
    scriptKindOf(fileName),
  );
  // `parseDiagnostics` is internal to the compiler API but stable; typescript-estree reads it the
  // same way to report syntax errors without building a Program.
  const diagnostics = (sourceFile as unknown as { parseDiagnostics?: readonly ts.Diagnostic[] })
    .parseDiagnostics;
  const first = diagnostics?.[0];
  if (first === undefined) return { ok: true, sourceFile };
  const position = sourceFile.getLineAndCharacterOfPosition(first.start ?? 0);
  return {
    ok: false,
    message: ts.flattenDiagnosticMessageText(first.messageText, '\n'),
    line: position.line + 1,
    column: position.character + 1,
  };
}
