/**
 * The one place where user strings become configuration text. The rules schema
 * (`rules-schema.ts`) already refuses what no target could carry literally in names, keys, paths
 * and hosts; what is left — free text such as `source` (which `gossipless migrate` fills from file
 * paths in the legacy repository) and `note`, and the regex/string contexts the constrained fields
 * are written into — is escaped here, per syntax. A target never writes a user string any other way.
 */
import { stringify } from 'yaml';

// Line terminators in every syntax we write: CR, LF, NEL, LS, PS, plus the other C0/C1 controls
// (a vertical tab or form feed can end a line for some parsers). Matching them is the point here.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Text for a line comment (`#` in nginx, HAProxy and YAML; `//` in Bicep): one line, so nothing
 * after a newline becomes a live directive. Control characters become spaces.
 */
export function lineComment(text: string): string {
  return text.replace(CONTROL, ' ');
}

/**
 * Text for an XML comment: one line, and no `--` (XML forbids it inside comments; `-->` would end
 * the comment and open live policy XML). Each `-` that follows a `-` is spaced out.
 */
export function xmlComment(text: string): string {
  return lineComment(text)
    .replace(/-(?=-)/g, '- ')
    .replace(/-$/, '- ');
}

/** An XML attribute value between double quotes. */
export function xmlAttribute(text: string): string {
  return text
    .replace(CONTROL, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/&(?!#\d+;)/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** A C# string literal, for API Management policy expressions. */
export function csharpString(text: string): string {
  return `"${text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** Escapes a string for use inside a regular expression (RE2, PCRE, .NET and Go agree on these). */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A path prefix as a regular expression that also matches the merged-slash spellings of it
 * (`//api///login` for `/api/login`), for edges that cannot merge slashes themselves.
 */
export function slashTolerantPrefix(path: string): string {
  return path.split('/').map(escapeRegex).join('/+');
}

/** A Bicep string literal: single quotes with `\'`, `\\`, `\${` and control escapes. */
export function bicepString(text: string): string {
  return `'${text
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(/\$\{/g, '\\${')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(CONTROL, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`)}'`;
}

/** Text for one Markdown line or table cell of the report: one line, pipes escaped. */
export function markdownText(text: string): string {
  return lineComment(text).replace(/\|/g, '\\|');
}

/**
 * Kubernetes manifests as one multi-document YAML file (Traefik, ingress-nginx). The `yaml` library
 * quotes what YAML would misread; lines are never folded, so a path regex stays on one line.
 */
export function kubernetesManifests(manifests: readonly object[]): string {
  return manifests.map((manifest) => stringify(manifest, { lineWidth: 0 })).join('---\n');
}

/**
 * The identifiers a rule name turns into across targets, case-folded (Azure compares names
 * without case): `api-login`, `api_login` and `apiLogin`-like spellings must stay distinct.
 */
export function identifierForms(name: string): string[] {
  const folded = name.toLowerCase();
  return [
    folded.replace(/-/g, '_'), // nginx zones, HAProxy tables
    `rate-limit-${folded.replace(/_/g, '-')}`.replace(/-+$/, ''), // Kubernetes objects
    folded.replace(/[-_]+/g, ''), // Azure custom-rule names (PascalCase of the parts)
  ];
}
