/** How bad a finding is. `error` fails the CI run (exit code 1); `warning` is reported only. */
export type Severity = 'error' | 'warning';

/**
 * One problem a rule found in one file. Lines and columns are 1-based; `endColumn` is the column
 * just after the last character, as SARIF counts it.
 */
export interface Finding {
  readonly ruleId: string;
  readonly severity: Severity;
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

/** A finding with the file it is in (path relative to the working directory, `/`-separated). */
export interface FileFinding extends Finding {
  readonly file: string;
}

/** Static description of a rule, shared by the formatters (SARIF rule metadata) and the ESLint plugin. */
export interface RuleMeta {
  /** Stable identifier: the SARIF `ruleId`, the ESLint rule name, the suppression comment's name. */
  readonly id: string;
  readonly shortDescription: string;
  readonly fullDescription: string;
  /** Where the rule's documentation lives. */
  readonly helpUri: string;
}
