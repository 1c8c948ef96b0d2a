/**
 * The ast-grep anchor rows of bench:lint (empty or bindingless catch clauses), shared by the speed
 * run and its memory children. Imports only @ast-grep/napi, so a child measuring ast-grep does not
 * carry TypeScript.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Lang, findInFiles, parse } from '@ast-grep/napi';
import type { Workload } from './memory-child.js';

/** ast-grep: bindingless catch, or a catch whose body is empty or comments only. */
const EMPTY_OR_BINDINGLESS_CATCH = {
  rule: {
    kind: 'catch_clause',
    any: [
      { not: { has: { field: 'parameter', pattern: '$_' } } },
      { has: { field: 'body', regex: '^\\{\\s*(//[^\\n]*\\s*|/\\*[\\s\\S]*?\\*/\\s*)*\\}$' } },
    ],
  },
};

function astGrepLang(file: string): Lang {
  const extension = extname(file);
  if (extension === '.ts') return Lang.TypeScript;
  if (extension === '.tsx') return Lang.Tsx;
  return Lang.JavaScript;
}

/** `parse()` per file on the JS thread: the like-for-like single-threaded comparison. */
export function astGrepParse(
  files: readonly string[],
  onFile?: () => void,
): { files: number; matches: number } {
  let matches = 0;
  for (const file of files) {
    const tree = parse(astGrepLang(file), readFileSync(file, 'utf8'));
    matches += tree.root().findAll(EMPTY_OR_BINDINGLESS_CATCH).length;
    onFile?.();
  }
  return { files: files.length, matches };
}

/** `findInFiles`: ast-grep's own Rust walk, parsing on all threads. */
export async function astGrepFindInFiles(
  corpus: string,
  fileCount: number,
): Promise<{ files: number; matches: number }> {
  let matches = 0;
  for (const lang of [Lang.TypeScript, Lang.Tsx, Lang.JavaScript]) {
    const globs =
      lang === Lang.TypeScript ? ['*.ts'] : lang === Lang.Tsx ? ['*.tsx'] : ['*.js', '*.mjs', '*.cjs'];
    await findInFiles(
      lang,
      { paths: [corpus], matcher: EMPTY_OR_BINDINGLESS_CATCH, languageGlobs: globs },
      (error, nodes) => {
        if (error) throw error;
        matches += nodes.length;
      },
    );
  }
  // findInFiles walks the same directory and returns only the count of files with a match.
  return { files: fileCount, matches };
}

/** Memory child: args = [file list JSON]. */
export const parseWorkload: Workload = ([list], onFile) =>
  astGrepParse(JSON.parse(readFileSync(list!, 'utf8')) as string[], onFile);

/** Memory child: args = [corpus, file count]. */
export const findInFilesWorkload: Workload = ([corpus, count]) => astGrepFindInFiles(corpus!, Number(count));
