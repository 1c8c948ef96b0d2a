/**
 * The gossipless rows of bench:lint, shared by the speed run (bench/lint.ts) and its memory children
 * (memory-child.ts), so both measure the same work. Imports only gossipless' lint.
 */
import { readFileSync } from 'node:fs';
import { lintFiles, noSelfDisablingDiscovery, parseSource } from '../../codemods/lint/index.js';
import type { Workload } from './memory-child.js';

/** `gossipless lint .` in `corpus`: walk + pre-filter + parse + rule. */
export function gossiplessLint(
  corpus: string,
  onFile?: () => void,
): { files: number; matches: number; report: ReturnType<typeof lintFiles> } {
  const report = lintFiles(
    ['.'],
    onFile === undefined ? { cwd: corpus } : { cwd: corpus, onProgress: onFile },
  );
  return { files: report.filesLinted, matches: report.findings.length, report };
}

/** The rule without the pre-filter: every file parsed. */
export function gossiplessWithoutPrefilter(
  files: readonly string[],
  onFile?: () => void,
): { files: number; matches: number } {
  let matches = 0;
  for (const file of files) {
    const parsed = parseSource(file, readFileSync(file, 'utf8'));
    if (parsed.ok) matches += noSelfDisablingDiscovery(parsed.sourceFile).length;
    onFile?.();
  }
  return { files: files.length, matches };
}

/** Memory child: args = [corpus]. */
export const lintWorkload: Workload = ([corpus], onFile) => {
  const { files, matches, report } = gossiplessLint(corpus!, onFile);
  return { files, matches, retained: report };
};

/** Memory child: args = [file list JSON]. */
export const withoutPrefilterWorkload: Workload = ([list], onFile) =>
  gossiplessWithoutPrefilter(JSON.parse(readFileSync(list!, 'utf8')) as string[], onFile);
