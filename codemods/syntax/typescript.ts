/**
 * The TypeScript compiler API, without ts-morph's project model. Lint code imports `ts` from here:
 * it is the very instance ts-morph uses (so syntax kinds agree with the migrate codemod's nodes),
 * loaded for about two thirds of the cost of `import { ts } from 'ts-morph'`.
 *
 * It is loaded with `require`, not `import`: an ES module that imports a CommonJS file makes Node
 * scan that file's whole text for export names (cjs-module-lexer, in WebAssembly memory that never
 * shrinks). For this 9 MB file, loading it that way peaked 26 MiB higher than `require` in plain
 * Node and 84 MiB higher under tsx (docs/migrate.md, "Memory").
 */
import { createRequire } from 'node:module';

// tsc compiles the `import = require` below to its own `createRequire` call; esbuild (tsx, vitest)
// compiles it to a bare `require(…)`, which an ES module lacks: this is the one it then calls.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
const require = createRequire(import.meta.url);
// `import = require` (not a `const`) gives `ts` both meanings: the value and the namespace of
// types (`ts.Node`).
// eslint-disable-next-line @typescript-eslint/no-require-imports
import ts = require('@ts-morph/common/dist/typescript.js');

export { ts };
