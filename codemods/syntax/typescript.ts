/**
 * The TypeScript compiler API, without ts-morph's project model. Lint code imports `ts` from here:
 * it is the very instance ts-morph uses (so syntax kinds agree with the migrate codemod's nodes),
 * loaded for about two thirds of the cost of `import { ts } from 'ts-morph'`, and through
 * `require` (why: load-typescript.cjs; it is also the memory cost: an ES `import` of this 9 MB
 * CommonJS file peaked 26 MiB higher in plain Node and 84 MiB under tsx, docs/migrate.md "Memory").
 */
import ts from './load-typescript.cjs';

export { ts };
