import type { Finding } from './finding.js';

/** `// gossipless-disable-next-line <rule> -- reason` (also in a block comment). */
const SUPPRESSION =
  /\/[/*]\s*gossipless-disable-next-line\s+([\w/@-]+(?:\s*,\s*[\w/@-]+)*)\s*(?:--\s*(\S.*?))?\s*(?:\*\/)?\s*$/;

/** Result of applying suppression comments to one file's findings. */
export interface SuppressionResult<T extends Finding> {
  readonly kept: T[];
  readonly suppressed: T[];
}

/**
 * Drops findings whose line is preceded by `// gossipless-disable-next-line <rule-id> -- reason`.
 * The reason is required: a suppression without one does not suppress, and the finding says so,
 * because "why is this catch allowed to swallow a discovery failure?" is exactly what a reviewer
 * needs to read next to it.
 */
export function applySuppressions<T extends Finding>(
  findings: readonly T[],
  text: string,
): SuppressionResult<T> {
  if (!text.includes('gossipless-disable-next-line')) return { kept: [...findings], suppressed: [] };
  const lines = text.split(/\r?\n/);
  const kept: T[] = [];
  const suppressed: T[] = [];
  for (const finding of findings) {
    const previous = lines[finding.line - 2] ?? '';
    const match = SUPPRESSION.exec(previous.trim());
    const rules = match?.[1]?.split(',').map((rule) => rule.trim().replace(/^gossipless\//, '')) ?? [];
    if (!match || !rules.includes(finding.ruleId)) {
      kept.push(finding);
    } else if (match[2] === undefined) {
      kept.push({
        ...finding,
        message: `${finding.message} (The gossipless-disable-next-line comment above has no reason after \`--\`, so it does not suppress this.)`,
      });
    } else {
      suppressed.push(finding);
    }
  }
  return { kept, suppressed };
}
