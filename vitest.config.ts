import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";

// Two projects, so the rules can be run on their own in seconds (`npm run test:unit`) while
// `npm test` still runs everything:
// - unit: test/unit/, domain rules and handlers without servers (no Postgres, no NATS);
// - integration: every other test, against real Postgres and NATS started by the harness.
export default defineConfig({
  test: {
    // Child processes, not threads: servers a test file starts are tied to its process's life.
    pool: "forks",
    // Test files mostly wait on Postgres and NATS, so use every core even on a 2-core machine
    // (vitest's default leaves one idle).
    maxWorkers: Math.max(2, availableParallelism()),
    teardownTimeout: 30_000,
    reporters: ["default", "./test/support/closing-line-reporter.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // The rules hold no state one file could leak into another, so the files share each
          // worker's module cache instead of importing zod, protobuf and Connect afresh per file.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/unit/**"],
          // Starts (or finds) Postgres and installs missing server binaries once per run; vitest
          // runs a project's global setup only when that project has test files in the run.
          globalSetup: ["test/support/global-setup.ts"],
          // Real servers: connections, migrations and restarts take real time.
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
