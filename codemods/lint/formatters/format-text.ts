import pc from 'picocolors';
import type { FileFinding } from '../finding.js';
import type { LintReport } from '../lint-files.js';

/** Options of {@link formatText}. */
export interface FormatTextOptions {
  /** Colour the output (the CLI passes false when NO_COLOR is set or stdout is not a terminal). */
  readonly color: boolean;
  /** Reads a reported file's text for the code frame; undefined when it cannot. */
  readonly readSource: (file: string) => string | undefined;
  /** Lines of context around the finding's line. @default 2 */
  readonly contextLines?: number;
}

/**
 * Human output: findings grouped by file, each with a code frame, then skipped files and a summary
 * line, in the spirit of ESLint's `codeframe` formatter.
 */
export function formatText(report: LintReport, options: FormatTextOptions): string {
  const colors = pc.createColors(options.color);
  const contextLines = options.contextLines ?? 2;
  const out: string[] = [];
  const byFile = new Map<string, FileFinding[]>();
  for (const finding of report.findings) {
    const list = byFile.get(finding.file) ?? [];
    list.push(finding);
    byFile.set(finding.file, list);
  }
  for (const [file, findings] of byFile) {
    const lines = options.readSource(file)?.split(/\r?\n/);
    for (const finding of findings) {
      const severity = finding.severity === 'error' ? colors.red('error') : colors.yellow('warning');
      out.push(
        `${severity}: ${finding.message} ${colors.dim(`(${finding.ruleId})`)}`,
        `  at ${colors.cyan(`${file}:${finding.line}:${finding.column}`)}`,
      );
      if (lines) out.push(codeFrame(lines, finding, contextLines, colors), '');
      else out.push('');
    }
  }
  if (report.skipped.length > 0) {
    out.push(
      colors.yellow(`Skipped ${plural(report.skipped.length, 'file')} that could not be parsed or read:`),
    );
    for (const skipped of report.skipped) {
      const where =
        skipped.line === undefined ? skipped.file : `${skipped.file}:${skipped.line}:${skipped.column}`;
      out.push(`  ${where}  ${skipped.reason}`);
    }
    out.push('');
  }
  out.push(...notLintedLines(report, colors));
  const total = report.errorCount + report.warningCount;
  const summary =
    total === 0
      ? colors.green(`No problems found in ${plural(report.filesLinted, 'file')}.`)
      : `${total === 1 ? '1 problem' : `${total} problems`} (${plural(report.errorCount, 'error')}, ${plural(report.warningCount, 'warning')}) in ${plural(report.filesLinted, 'file')}.`;
  out.push(
    report.errorCount > 0 ? colors.red(colors.bold(summary)) : summary,
    ...(report.suppressedCount > 0
      ? [colors.dim(`${plural(report.suppressedCount, 'finding')} suppressed inline.`)]
      : []),
  );
  return `${out.join('\n')}\n`;
}

/** What the walk left out, one line each, so "No problems found" never hides an unread tree. */
function notLintedLines(report: LintReport, colors: ReturnType<typeof pc.createColors>): string[] {
  const { dependencyFolders, testPaths, compiledPaths, buildFolders } = report.notLinted;
  const lines: string[] = [];
  const some = (paths: readonly string[]): string =>
    paths.length <= 3 ? paths.join(', ') : `${paths.slice(0, 3).join(', ')}, …`;
  if (dependencyFolders.length > 0) {
    lines.push(
      colors.dim(
        `Not linted: ${plural(dependencyFolders.length, 'folder')} named node_modules (${some(dependencyFolders)}); ` +
          `name one to lint it: gossipless lint ${dependencyFolders[0]}`,
      ),
    );
  }
  if (testPaths.length > 0) {
    lines.push(
      colors.dim(
        `Not linted: ${plural(testPaths.length, 'test, example or documentation file or folder', 'test, example or documentation files or folders')} (${some(testPaths)}); ` +
          'add --include-tests to lint them',
      ),
    );
  }
  if (compiledPaths.length > 0) {
    lines.push(
      colors.dim(
        `Not linted: ${plural(compiledPaths.length, 'compiled file')} whose source is linted instead, as its source map says (${some(compiledPaths)}); ` +
          'name one to lint it',
      ),
    );
  }
  if (buildFolders.length > 0) {
    lines.push(
      colors.dim(
        `Not linted: ${plural(buildFolders.length, 'build output folder')} beside src/, holding type declarations (${some(buildFolders)}); ` +
          `name one to lint it: gossipless lint ${buildFolders[0]}`,
      ),
    );
  }
  return lines.length > 0 ? [...lines, ''] : [];
}

function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

function codeFrame(
  lines: readonly string[],
  finding: FileFinding,
  contextLines: number,
  colors: ReturnType<typeof pc.createColors>,
): string {
  const first = Math.max(1, finding.line - contextLines);
  const last = Math.min(lines.length, finding.line + contextLines);
  const width = String(last).length;
  const frame: string[] = [];
  for (let number = first; number <= last; number += 1) {
    const text = (lines[number - 1] ?? '').replace(/\t/g, '  ');
    const gutter = String(number).padStart(width);
    if (number === finding.line) {
      frame.push(`${colors.red('>')} ${colors.dim(`${gutter} |`)} ${text}`);
      const original = lines[number - 1] ?? '';
      const endColumn = finding.endLine === finding.line ? finding.endColumn : original.length + 1;
      const prefix = original
        .slice(0, finding.column - 1)
        .replace(/\t/g, '  ')
        .replace(/[^ ]/g, ' ');
      const length = Math.max(1, Math.min(endColumn - finding.column, original.length - finding.column + 1));
      frame.push(`  ${' '.repeat(width)} ${colors.dim('|')} ${prefix}${colors.red('^'.repeat(length))}`);
    } else {
      frame.push(`  ${colors.dim(`${gutter} |`)} ${text}`);
    }
  }
  return frame.join('\n');
}
