// Types of load-typescript.cjs: the TypeScript compiler API that ts-morph bundles.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the types of a `require`
import ts = require('@ts-morph/common/dist/typescript.js');

export = ts;
