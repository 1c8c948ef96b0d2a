import type { LintReport } from '../lint-files.js';

/** Version of the JSON document's shape; bumped on incompatible changes. */
export const LINT_JSON_VERSION = 1;

/**
 * One JSON document: findings, skipped files and a summary. Shape, versioned by `version`:
 * `{ version, tool, rules[], findings[{ file, line, column, endLine, endColumn, severity, ruleId, message }],
 * skipped[{ file, reason, line?, column? }],
 * notLinted{ unreadableFolders[{ folder, reason }], dependencyFolders[], testPaths[], compiledPaths[], buildFolders[] }, summary{ filesLinted, filesParsed, errors, warnings, suppressed } }`.
 */
export function formatJson(report: LintReport): string {
  return `${JSON.stringify(
    {
      version: LINT_JSON_VERSION,
      tool: 'gossipless',
      rules: report.rules.map((rule) => ({
        id: rule.id,
        description: rule.shortDescription,
        helpUri: rule.helpUri,
      })),
      findings: report.findings.map((finding) => ({
        file: finding.file,
        line: finding.line,
        column: finding.column,
        endLine: finding.endLine,
        endColumn: finding.endColumn,
        severity: finding.severity,
        ruleId: finding.ruleId,
        message: finding.message,
      })),
      skipped: report.skipped,
      notLinted: report.notLinted,
      summary: {
        filesLinted: report.filesLinted,
        filesParsed: report.filesParsed,
        errors: report.errorCount,
        warnings: report.warningCount,
        suppressed: report.suppressedCount,
      },
    },
    null,
    2,
  )}\n`;
}
