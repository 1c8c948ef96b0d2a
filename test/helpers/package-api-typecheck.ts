import ts from 'typescript';

/**
 * Compiler options for type-checking code written against the package's public API, as a user's
 * strict NodeNext project would: `gossipless` resolves to `src/index.ts` of this checkout.
 */
export function packageApiCompilerOptions(root: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
    baseUrl: root,
    paths: { gossipless: ['src/index.ts'] },
  };
}
