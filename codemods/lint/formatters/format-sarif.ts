import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type * as Sarif from 'sarif';
import type { LintReport } from '../lint-files.js';

/** Options of {@link formatSarif}. */
export interface FormatSarifOptions {
  /** Directory the reported paths are relative to; becomes `%SRCROOT%`. */
  readonly cwd: string;
  /** Reads a reported file's text, for line-content fingerprints; undefined when it cannot. */
  readonly readSource: (file: string) => string | undefined;
  /** The tool version written to the log. */
  readonly toolVersion: string;
}

const SRCROOT = '%SRCROOT%';

/**
 * SARIF 2.1.0 for GitHub code scanning: one run, the rule's metadata in `tool.driver.rules`,
 * a stable `ruleId`, and a `partialFingerprints` entry computed from the rule, the file and the
 * trimmed text of the flagged line (plus an occurrence counter), so an alert survives code moving
 * up or down the file. Skipped files become tool execution notifications.
 */
export function formatSarif(report: LintReport, options: FormatSarifOptions): string {
  const sources = new Map<string, string[] | undefined>();
  const linesOf = (file: string): string[] | undefined => {
    if (!sources.has(file)) sources.set(file, options.readSource(file)?.split(/\r?\n/));
    return sources.get(file);
  };
  const occurrences = new Map<string, number>();
  const ruleIndex = new Map(report.rules.map((rule, index) => [rule.id, index]));

  const results: Sarif.Result[] = report.findings.map((finding) => {
    const lineText = (linesOf(finding.file)?.[finding.line - 1] ?? '').trim();
    const key = `${finding.ruleId}\0${finding.file}\0${lineText}`;
    const occurrence = (occurrences.get(key) ?? 0) + 1;
    occurrences.set(key, occurrence);
    const hash = createHash('sha256').update(key).digest('hex').slice(0, 32);
    return {
      ruleId: finding.ruleId,
      ruleIndex: ruleIndex.get(finding.ruleId) ?? 0,
      level: finding.severity === 'error' ? 'error' : 'warning',
      message: { text: finding.message },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: encodeURI(finding.file), uriBaseId: SRCROOT },
            region: {
              startLine: finding.line,
              startColumn: finding.column,
              endLine: finding.endLine,
              endColumn: finding.endColumn,
            },
          },
        },
      ],
      partialFingerprints: { 'gossiplessLineHash/v1': `${hash}:${occurrence}` },
    };
  });

  const notifications: Sarif.Notification[] = report.skipped.map((skipped) => ({
    level: 'warning',
    message: { text: `Skipped ${skipped.file}: ${skipped.reason}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: encodeURI(skipped.file), uriBaseId: SRCROOT },
          ...(skipped.line === undefined
            ? {}
            : { region: { startLine: skipped.line, startColumn: skipped.column ?? 1 } }),
        },
      },
    ],
  }));

  const log: Sarif.Log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'gossipless',
            informationUri: 'https://github.com/gossipless/gossipless',
            version: options.toolVersion,
            semanticVersion: options.toolVersion,
            rules: report.rules.map((rule) => ({
              id: rule.id,
              name: rule.id
                .split('-')
                .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
                .join(''),
              shortDescription: { text: rule.shortDescription },
              fullDescription: { text: rule.fullDescription },
              helpUri: rule.helpUri,
              help: { text: `${rule.fullDescription} See ${rule.helpUri}` },
              defaultConfiguration: { level: 'error' },
              properties: {
                tags: ['reliability', 'correctness', 'split-brain'],
                precision: 'high',
                'problem.severity': 'error',
              },
            })),
          },
        },
        originalUriBaseIds: { [SRCROOT]: { uri: `${pathToFileURL(options.cwd).href.replace(/\/?$/, '/')}` } },
        columnKind: 'utf16CodeUnits',
        invocations: [{ executionSuccessful: true, toolExecutionNotifications: notifications }],
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
