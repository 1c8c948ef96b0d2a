// Runs after the runtime and toolkit builds (npm run build, and so npm ci's prepare).
import { chmodSync, copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';

// The runtime's dist/cjs holds the CommonJS build of the shims inside an ESM package: this marker makes
// Node read it as CommonJS.
writeFileSync('packages/runtime/dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
// The lint loads TypeScript's compiler through this hand-written CommonJS file (why: in the file), which
// tsc does not emit: copy it and its types beside the compiled `typescript.js` that imports it.
for (const file of ['load-typescript.cjs', 'load-typescript.d.cts']) {
  copyFileSync(`codemods/syntax/${file}`, `dist/codemods/syntax/${file}`);
}
// tsc writes files without the executable bit; `npx gossipless` in a checkout runs the bin directly.
chmodSync('dist/src/cli/bin.js', 0o755);

// The toolkit reaches the runtime through `@gossipless/runtime` only. A relative import into a runtime
// folder would make tsc compile a second copy of the runtime into the toolkit (two GossiplessError
// classes, two lease implementations): refuse the build instead.
const toolkitFolders = new Set(['cli', 'edge', 'dev', 'toolkit']);
const strays = [
  ...readdirSync('dist/src')
    .filter((name) => !toolkitFolders.has(name))
    .map((name) => `dist/src/${name}`),
  ...(existsSync('dist/shims') ? ['dist/shims'] : []),
];
if (strays.length > 0) {
  console.error(
    `build: runtime code was compiled into the toolkit (${strays.join(', ')}); ` +
      "import it from '@gossipless/runtime' instead of a relative path",
  );
  process.exit(1);
}
