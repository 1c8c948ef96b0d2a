import { defineConfig } from 'vitest/config';

// One Azurite for the whole run (test/global-setup.ts), shared by both projects. Fault scenarios
// that kill processes and wait out leases live in their own project so they can be run alone.
// .ci/run sets GOSSIPLESS_TEST_REPORT to count passed/failed from the runner's own JSON result.
const reportFile = process.env.GOSSIPLESS_TEST_REPORT;

export default defineConfig({
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
          exclude: ['test/faults/**', 'test/fixtures/**', 'node_modules/**'],
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
    ],
  },
});
