import { defineConfig } from 'vitest/config';

// Integration tests share one Docker engine and a 2-core machine: run their files one
// at a time so timing-sensitive cases (timeouts, leases) are not starved.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          // conformance/: one suite per seam, run against every backend built in.
          include: ['test/integration/**/*.test.ts', 'test/conformance/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          globalSetup: ['test/helpers/dockerGlobalSetup.ts'],
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          testTimeout: 900_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          globalSetup: ['test/helpers/dockerGlobalSetup.ts'],
        },
      },
    ],
  },
});
