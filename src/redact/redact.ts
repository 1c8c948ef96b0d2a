const REPLACEMENT = '[REDACTED]';

// Order matters: whole connection strings first, so their parts are not redacted piecemeal into
// something that still reads like a connection string.
const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // AccountKey=..., SharedAccessSignature=... inside connection strings (value runs to ';' or end).
  [/\b(AccountKey|SharedAccessSignature|SharedAccessKey)=([^;\s"']+)/gi, `$1=[REDACTED]`],
  // SAS query parameters: sig is the secret; se/sp/sv are harmless but sig must go.
  [/([?&]sig=)[^&\s"']+/gi, `$1[REDACTED]`],
  // Authorization headers (SharedKey account:signature, Bearer tokens).
  [/\b(SharedKey(?:Lite)?\s+[^:\s]+:)[A-Za-z0-9+/=]+/g, `$1[REDACTED]`],
  [/\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, `$1[REDACTED]`],
  // A bare base64 account key (64 bytes → 88 chars ending in '==') that escaped the patterns above.
  [/\b[A-Za-z0-9+/]{86}==/g, REPLACEMENT],
];

/**
 * Removes secrets from text that is about to be shown: account keys, SAS signatures, shared-key and
 * bearer authorization values, and any bare 88-character base64 key. Every error message and log line
 * in gossipless passes through here.
 *
 * @example
 * ```ts
 * redact('AccountName=a;AccountKey=abc==;') // 'AccountName=a;AccountKey=[REDACTED];'
 * ```
 */
export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Redacts a value of unknown shape for logging: errors keep name, code and redacted message. */
export function redactUnknown(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return redact(`${value.name}${code ? ` [${String(code)}]` : ''}: ${value.message}`);
  }
  if (typeof value === 'string') return redact(value);
  try {
    return redact(JSON.stringify(value));
  } catch {
    return '[unserialisable value]';
  }
}
