// The test harness, in one import: `import { createTestDatabase, startNats, ... } from "../support/index.js"`.
export { createTestDatabase, type TestDatabase } from "./test-database.js";
export { startPostgres, type PgInstance, type StartPostgresOptions } from "./postgres.js";
export { startNats, type NatsInstance } from "./nats.js";
export { waitFor, type WaitForOptions } from "./wait-for.js";
