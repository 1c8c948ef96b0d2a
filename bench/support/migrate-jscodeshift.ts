/**
 * The jscodeshift anchor rows of bench:migrate, for its speed children (migrate-speed-child.ts) and
 * its memory children (memory-child.ts). Imports only jscodeshift.
 */
import { readFileSync } from 'node:fs';
import jscodeshift, { type API, type FileInfo } from 'jscodeshift';
import { TRANSPORT_OPTIONS as NODE_DISCOVER_TRANSPORT_OPTIONS } from '../../shims/node-discover/transport-options.js';
import type { Workload } from './memory-child.js';
import type { SpeedWorkload } from './migrate-speed-child.js';

const TRANSPORT_OPTIONS = new Set<string>(NODE_DISCOVER_TRANSPORT_OPTIONS);
const SHIM = '@gossipless/runtime/shims/node-discover';

/**
 * The same rewrite written as a jscodeshift transform: import/require/re-export/dynamic import
 * specifiers of node-discover, and transport-only options at calls of the imported name.
 */
function jscodeshiftTransform(file: FileInfo, api: API, preCheck: boolean): string | undefined {
  if (preCheck && !file.source.includes('node-discover')) return undefined;
  const j = api.jscodeshift;
  const root = j(file.source);
  let changed = false;
  const locals = new Set<string>();
  root.find(j.ImportDeclaration, { source: { value: 'node-discover' } }).forEach((declaration) => {
    declaration.node.source.value = SHIM;
    for (const specifier of declaration.node.specifiers ?? []) {
      if (specifier.type === 'ImportDefaultSpecifier' && specifier.local)
        locals.add(String(specifier.local.name));
    }
    changed = true;
  });
  root.find(j.ExportNamedDeclaration, { source: { value: 'node-discover' } }).forEach((declaration) => {
    declaration.node.source!.value = SHIM;
    changed = true;
  });
  root.find(j.CallExpression, { callee: { name: 'require' } }).forEach((call) => {
    const [argument] = call.node.arguments;
    if (argument && argument.type === 'StringLiteral' && argument.value === 'node-discover') {
      argument.value = SHIM;
      changed = true;
    }
  });
  for (const kind of [j.CallExpression, j.NewExpression] as const) {
    root.find(kind as typeof j.CallExpression).forEach((call) => {
      const callee = call.node.callee;
      if (callee.type !== 'Identifier' || !locals.has(callee.name)) return;
      const [options] = call.node.arguments;
      if (!options || options.type !== 'ObjectExpression') return;
      const kept = options.properties.filter((property) => {
        const key = 'key' in property ? property.key : undefined;
        const name = key && key.type === 'Identifier' ? key.name : undefined;
        return !(name && TRANSPORT_OPTIONS.has(name));
      });
      if (kept.length !== options.properties.length) {
        options.properties = kept;
        changed = true;
      }
    });
  }
  return changed ? root.toSource({ quote: 'single' }) : undefined;
}

export function runJscodeshift(files: readonly string[], preCheck: boolean, onFile?: () => void): number {
  const j = jscodeshift.withParser('tsx');
  const api = { jscodeshift: j, j, stats: () => undefined, report: () => undefined } as unknown as API;
  let changed = 0;
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    if (jscodeshiftTransform({ path: file, source }, api, preCheck) !== undefined) changed++;
    onFile?.();
  }
  return changed;
}

/** Memory child: args = [file list JSON, 'pre-check' | 'every-file']. */
export const jscodeshiftWorkload: Workload = ([list, mode], onFile) => {
  const files = JSON.parse(readFileSync(list!, 'utf8')) as string[];
  return { files: files.length, matches: runJscodeshift(files, mode === 'pre-check', onFile) };
};

/**
 * Speed child: args = [file list JSON, 'pre-check' | 'every-file']; the list is read once, outside
 * the timed runs (gossipless walks its tree inside them).
 */
export const jscodeshiftSpeedWorkload: SpeedWorkload = ([list, mode]) => {
  const files = JSON.parse(readFileSync(list!, 'utf8')) as string[];
  return () => runJscodeshift(files, mode === 'pre-check');
};
