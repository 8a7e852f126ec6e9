import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Starts (or finds) Postgres and installs missing server binaries once per run.
    globalSetup: ["test/support/global-setup.ts"],
    // Child processes, not threads: servers a test file starts are tied to its process's life.
    pool: "forks",
    // Test files mostly wait on Postgres and NATS, so use every core even on a 2-core machine
    // (vitest's default leaves one idle).
    maxWorkers: Math.max(2, availableParallelism()),
    // Real servers: connections, migrations and restarts take real time.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ["default", "./test/support/closing-line-reporter.ts"],
  },
});
