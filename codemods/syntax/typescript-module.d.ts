// The TypeScript compiler that ts-morph bundles, loaded on its own: `import { ts } from 'ts-morph'`
// would also load ts-morph's project model (about a third of the start-up time of `gossipless lint`),
// which the lint never uses. Same file, so the same instance (and `SyntaxKind` numbers) as
// ts-morph's own `ts` for the migrate codemod.
declare module '@ts-morph/common/dist/typescript.js' {
  import { ts } from '@ts-morph/common';
  export = ts;
}
