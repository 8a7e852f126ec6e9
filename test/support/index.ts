// The test harness, in one import: `import { createTestDatabase, startNats, ... } from "../support/index.js"`.
export { createTestDatabase, lockWaiters, type TestDatabase } from "./test-database.js";
export { startPostgres, type PgInstance, type StartPostgresOptions } from "./postgres.js";
export { startNats, type NatsInstance } from "./nats.js";
export { startNatsCluster, type NatsCluster, type NatsClusterNode } from "./nats-cluster.js";
export { startTcpBalancer, type Backend, type TcpBalancer } from "./tcp-balancer.js";
export { waitFor, type WaitForOptions } from "./wait-for.js";
export { refusedWithin, type RefusedWithinResult } from "./refused-within.js";
