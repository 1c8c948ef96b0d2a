import type { RateLimitKeySpec } from '../../src/edge/rules-schema.js';
import type { SourceFile } from 'ts-morph';

/** A replacement of `original.slice(start, end)` by `text`, in offsets of the file as read. */
export interface TextChange {
  start: number;
  end: number;
  text: string;
}

/** A call site or import left as is because rewriting it could change behaviour. */
export interface ReviewItem {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  reason: string;
  /** `rate-limit`: a limiter whose settings could not be read statically; its rule is for a human to write. */
  kind?: 'call-site' | 'rate-limit';
}

/** One `key` of a rate-limit rule, as `gossipless edge` reads it. */
export type RateLimitKey = RateLimitKeySpec;

/** A limiter's settings found at a call site, before names are made unique across the tree. */
export interface ExtractedRateLimit {
  /** Suggested rule name (`[a-z0-9-_]+`); the runner makes it unique. */
  name: string;
  limit: number;
  /** `"<n>ms" | "<n>s" | "<n>m" | "<n>h"`. */
  window: string;
  key: RateLimitKey | RateLimitKey[];
  /** 1-based line of the constructor call. */
  line: number;
  note?: string;
}

/** Where a legacy module is, as an import specifier names it. */
export type LegacyModuleLocation =
  | { kind: 'specifier'; specifier: string }
  /** An in-house module inside the target, matched by resolving relative specifiers. */
  | { kind: 'path'; absolutePath: string };

/**
 * How one legacy module maps onto a shim. Built-in mappings live in `transforms/<legacy-module>.ts`;
 * in-house ones come from `gossipless.config.json`.
 */
export interface ModuleMapping {
  /** Name for messages: the legacy specifier or the configured path. */
  name: string;
  from: LegacyModuleLocation;
  /** Module specifier of the shim, e.g. `@gossipless/runtime/shims/node-discover`. */
  to: string;
  /**
   * Legacy export name → shim export name. `default` is the default export, or `module.exports`
   * for CommonJS modules. A name missing here keeps its name.
   */
  exports: Readonly<Record<string, string>>;
  /** The legacy export that takes the options bag (`new X(options)` or `X(options)`). */
  constructorExport: string;
  /** Option renames at constructor call sites: legacy name → shim name. */
  renameOptions: Readonly<Record<string, string>>;
  /** Options removed at constructor call sites, with the one-line reason written in their place. */
  removeOptions: Readonly<Record<string, string>>;
  /** A file is parsed only if its text contains one of these strings. */
  preCheck: readonly string[];
  /**
   * Only look, never rewrite: used for code that already imports the shim, so that rate limits are
   * extracted again on a second run and the rules file stays identical.
   */
  extractOnly?: boolean;
}

/** What a transform knows besides the source file. */
export interface TransformContext {
  /** Absolute path of the file. */
  absolutePath: string;
  /** Path relative to the target, with `/` separators, for reports. */
  relativePath: string;
  /** Line ending of the file (`\n` or `\r\n`), for inserted lines. */
  eol: string;
}

/** What a transform returns: edits to apply, call sites for a human, and limiter settings found. */
export interface TransformResult {
  changes: TextChange[];
  reviews: ReviewItem[];
  rateLimits: ExtractedRateLimit[];
}

/** A transform is a pure function of a parsed file: no I/O, no printing. */
export type Transform = (sourceFile: SourceFile, context: TransformContext) => TransformResult;

/**
 * `record[key]` only when it is the record's own entry: names come from user code and config, and
 * an option called `constructor` must not find `Object.prototype.constructor`.
 */
export function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
