/**
 * The TypeScript compiler API, without ts-morph's project model. Lint code imports `ts` from here:
 * it is the very instance ts-morph uses (so syntax kinds agree with the migrate codemod's nodes),
 * loaded for about two thirds of the cost of `import { ts } from 'ts-morph'`, and through
 * `require` (why: load-typescript.cjs).
 */
import ts from './load-typescript.cjs';

export { ts };
