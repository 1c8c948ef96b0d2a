// Runs after both tsc builds (npm run build, and so npm ci's prepare).
import { chmodSync, writeFileSync } from 'node:fs';

// dist/cjs holds the CommonJS build of the shims inside an ESM package: this marker makes Node read it as CommonJS.
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
// tsc writes files without the executable bit; `npx gossipless` in a checkout runs the bin directly.
chmodSync('dist/src/cli/bin.js', 0o755);
