import { defineConfig } from 'vitest/config';

// Two tiers: `unit` (pure logic, beside the code in src/) and `integration` (test/, against the
// real PostgreSQL and Kafka that test/setup/global-setup.ts starts or reuses once per run).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // test/setup/: the test setup's own tests (the preflight), which need no services.
          include: ['src/**/*.test.ts', 'test/setup/**/*.test.ts'],
          environment: 'node',
          // Unit tests first: they are fast and point at the cause when integration tests fail.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/setup/**'],
          environment: 'node',
          globalSetup: ['test/setup/global-setup.ts'],
          setupFiles: ['test/setup/leak-guard.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two cores: files run two at a time, each with its own database and topics.
          maxWorkers: 2,
          pool: 'forks',
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
