'use strict';
// Loads the TypeScript compiler that ts-morph bundles with `require` (types: load-typescript.d.cts).
// Importing its 9 MB CommonJS file from an ES module makes Node first scan it for export names
// (cjs-module-lexer) and sniff its module format, which costs more than compiling it: about 0.45 s
// of 0.7 s in a profile of `gossipless lint` on a 300-file service. An ES module that imports this
// small file has Node scan only this file: `module.exports = ts` names no re-export to follow
// (`module.exports = require(…)` would). ts-morph's own `require` of the same path gets this instance.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the point of this file
const ts = require('@ts-morph/common/dist/typescript.js');

module.exports = ts;
