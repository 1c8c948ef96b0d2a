import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { GossiplessError } from '@gossipless/runtime/errors';
import { stripModulePath } from './module-rewrite.js';
import { nodeDiscoverMapping } from './transforms/node-discover.js';
import { swimMapping } from './transforms/swim.js';
import { democracyMapping } from './transforms/democracy.js';
import type { ModuleMapping } from './types.js';

/** File name `gossipless migrate` looks for at the root of the target. */
export const CONFIG_FILE_NAME = 'gossipless.config.json';

/** One entry of `modules` in `gossipless.config.json`. */
export interface MigrateModuleConfig {
  /** A module specifier (`@acme/cluster-limiter`) or a path relative to the config file (`./src/limiter`). */
  from: string;
  /** The shim's module specifier, e.g. `@gossipless/runtime/shims/crdt-rate-limiter`. */
  to: string;
  /** Legacy export name → shim export name; `default` is the default export / `module.exports`. */
  exports?: Record<string, string>;
  /**
   * The legacy export that takes the options bag.
   * @default "default"
   */
  constructorExport?: string;
  options?: {
    /** Legacy option name → shim option name. */
    rename?: Record<string, string>;
    /** Options the shim does not use: a list of names, or name → the reason written in their place. */
    remove?: string[] | Record<string, string>;
  };
}

/** The content of `gossipless.config.json`. */
export interface MigrateConfig {
  $schema?: string;
  modules?: MigrateModuleConfig[];
}

const nameMap = { type: 'object', additionalProperties: { type: 'string', minLength: 1 } } as const;

/** JSON Schema of `gossipless.config.json`. */
export const migrateConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    modules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to'],
        properties: {
          from: { type: 'string', minLength: 1 },
          to: { type: 'string', minLength: 1 },
          exports: nameMap,
          constructorExport: { type: 'string', minLength: 1 },
          options: {
            type: 'object',
            additionalProperties: false,
            properties: {
              rename: nameMap,
              remove: {
                anyOf: [{ type: 'array', items: { type: 'string', minLength: 1 } }, nameMap],
              },
            },
          },
        },
      },
    },
  },
} as const;

const BUILT_IN: readonly ModuleMapping[] = [nodeDiscoverMapping, swimMapping, democracyMapping];

/** The mappings used when there is no config file: node-discover, swim and democracy. */
export function builtInMappings(): ModuleMapping[] {
  return [...BUILT_IN];
}

let validator: ReturnType<Ajv['compile']> | undefined;

/**
 * Validates a parsed config and turns it into mappings: the built-ins, with config entries for the
 * same module replacing theirs field by field, then the in-house modules. `configPath` is used to
 * resolve relative `from` paths and to name the file in errors.
 *
 * @example
 * ```ts
 * const mappings = resolveMigrateConfig(JSON.parse(text), '/repo/gossipless.config.json');
 * ```
 */
export function resolveMigrateConfig(config: unknown, configPath: string): ModuleMapping[] {
  validator ??= new Ajv({ allErrors: true, allowUnionTypes: true }).compile(migrateConfigSchema);
  if (!validator(config)) {
    const problems = (validator.errors ?? []).map(describeAjvError).join('; ');
    throw new GossiplessError(
      'INVALID_CONFIG',
      `${configPath} is not a valid gossipless config: ${problems}. See docs/migrate.md ("Config file") for the format.`,
    );
  }
  const modules = (config as MigrateConfig).modules ?? [];
  const mappings = builtInMappings();
  const seen = new Set<string>();
  for (const [index, entry] of modules.entries()) {
    const mapping = mappingFromConfig(entry, path.dirname(configPath));
    const key = mapping.from.kind === 'specifier' ? mapping.from.specifier : mapping.from.absolutePath;
    if (seen.has(key)) {
      throw new GossiplessError(
        'INVALID_CONFIG',
        `${configPath}: /modules/${index} maps "${entry.from}" a second time; keep one entry per legacy module`,
      );
    }
    seen.add(key);
    const builtIn = mappings.findIndex(
      (candidate) => candidate.from.kind === 'specifier' && candidate.from.specifier === key,
    );
    if (builtIn === -1) {
      mappings.push(mapping);
    } else {
      mappings[builtIn] = mergeWithBuiltIn(mappings[builtIn]!, entry, mapping);
    }
  }
  return mappings;
}

function describeAjvError(error: ErrorObject): string {
  const where = error.instancePath === '' ? 'the top level' : error.instancePath;
  if (error.keyword === 'additionalProperties') {
    return `${where} has an unknown key "${String(error.params.additionalProperty)}"`;
  }
  return `${where} ${error.message ?? 'is invalid'}`;
}

function isPath(from: string): boolean {
  return from.startsWith('./') || from.startsWith('../') || from === '.' || path.isAbsolute(from);
}

function mappingFromConfig(entry: MigrateModuleConfig, baseDir: string): ModuleMapping {
  const remove = entry.options?.remove ?? {};
  const removeOptions = Array.isArray(remove)
    ? Object.fromEntries(remove.map((name) => [name, 'not used by the shim']))
    : { ...remove };
  if (isPath(entry.from)) {
    const absolutePath = stripModulePath(path.resolve(baseDir, entry.from));
    return {
      name: entry.from,
      from: { kind: 'path', absolutePath },
      to: entry.to,
      exports: { ...entry.exports },
      constructorExport: entry.constructorExport ?? 'default',
      renameOptions: { ...entry.options?.rename },
      removeOptions,
      // Relative specifiers end with the module's file (or folder) name, whatever the extension.
      preCheck: [path.basename(absolutePath)],
    };
  }
  return {
    name: entry.from,
    from: { kind: 'specifier', specifier: entry.from },
    to: entry.to,
    exports: { ...entry.exports },
    constructorExport: entry.constructorExport ?? 'default',
    renameOptions: { ...entry.options?.rename },
    removeOptions,
    preCheck: [entry.from],
  };
}

function mergeWithBuiltIn(
  builtIn: ModuleMapping,
  entry: MigrateModuleConfig,
  configured: ModuleMapping,
): ModuleMapping {
  return {
    ...builtIn,
    to: configured.to,
    exports: entry.exports === undefined ? builtIn.exports : configured.exports,
    constructorExport: entry.constructorExport ?? builtIn.constructorExport,
    renameOptions: entry.options?.rename === undefined ? builtIn.renameOptions : configured.renameOptions,
    removeOptions: entry.options?.remove === undefined ? builtIn.removeOptions : configured.removeOptions,
  };
}

/**
 * Reads the config: `explicitPath` when given (it must exist), else `gossipless.config.json` at the
 * target's root when present, else the built-in mappings.
 */
export async function loadMigrateConfig(
  targetDir: string,
  explicitPath?: string,
): Promise<{ mappings: ModuleMapping[]; configPath: string | undefined }> {
  const configPath = explicitPath ?? path.join(targetDir, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    if (explicitPath === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { mappings: builtInMappings(), configPath: undefined };
    }
    throw new GossiplessError(
      'INVALID_CONFIG',
      `cannot read the config file ${configPath} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}); check the --config path`,
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new GossiplessError(
      'INVALID_CONFIG',
      `${configPath} is not valid JSON (${(error as Error).message}); fix it or pass another file with --config`,
      { cause: error },
    );
  }
  return { mappings: resolveMigrateConfig(parsed, configPath), configPath };
}
