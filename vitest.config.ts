import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// One Azurite for the whole run (test/global-setup.ts), shared by both projects. Fault scenarios
// that kill processes and wait out leases live in their own project so they can be run alone.
// .ci/run sets GOSSIPLESS_TEST_REPORT to count passed/failed from the runner's own JSON result.
const reportFile = process.env.GOSSIPLESS_TEST_REPORT;

export default defineConfig({
  // The toolkit imports the runtime by its package name; tests run both from source (as tsconfig's
  // paths do for tsc and tsx), so an edit to the runtime is seen without a build.
  resolve: {
    alias: [
      { find: /^@gossipless\/runtime$/, replacement: here('./src/index.ts') },
      { find: /^@gossipless\/runtime\/errors$/, replacement: here('./src/errors/index.ts') },
      { find: /^@gossipless\/runtime\/shims\/([\w-]+)$/, replacement: here('./shims/$1/index.ts') },
    ],
  },
  test: {
    reporters: reportFile ? ['default', ['json', { outputFile: reportFile }]] : ['default'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'core',
          include: ['test/**/*.test.ts'],
          exclude: ['test/faults/**', 'test/package/**', 'test/fixtures/**', 'node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          testTimeout: 180_000,
        },
      },
      {
        // Packs both packages, installs them into empty projects and runs the CLI from there.
        extends: true,
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          testTimeout: 300_000,
        },
      },
    ],
  },
});
