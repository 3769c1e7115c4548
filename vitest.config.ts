import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // CLI tests run many subprocesses; on a busy 2-core machine a scenario can take minutes.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Integration tests are database-bound; two workers match the two cores of CI.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
