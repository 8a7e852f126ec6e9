import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { capturingDelivery, startAuth, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, startNats, waitFor, type NatsInstance, type TestDatabase } from "../support/index.js";

// Readiness as load balancers and Kubernetes probes see it: grpc.health.v1 Check for the whole
// server (""), following the database and NATS. The runtime re-checks every few seconds, so each
// change is awaited rather than expected at once.

const recheck = { timeoutMs: 15_000, intervalMs: 100 };

describe("readiness in grpc.health.v1", () => {
  let database: TestDatabase;
  let nats: NatsInstance;
  let auth: RunningService<AuthServiceHandle>;
  let health: Client<typeof Health>;

  beforeAll(async () => {
    [database, nats] = await Promise.all([createTestDatabase(), startNats()]);
    auth = await startAuth({ AUTH_DATABASE_URL: database.url, NATS_URL: nats.url }, { delivery: capturingDelivery() });
    health = createClient(Health, createGrpcTransport({ baseUrl: auth.baseUrl }));
  });

  afterAll(async () => {
    await auth?.close();
    await nats?.stop();
    await database?.drop();
  });

  const status = async () => (await health.check({ service: "" })).status;

  it("is SERVING once the database and NATS are reachable", async () => {
    await waitFor(async () => expect(await status()).toBe(Status.SERVING), recheck);
  });

  it("turns NOT_SERVING while NATS is down and SERVING again when it is back", async () => {
    await nats.stop();
    await waitFor(async () => expect(await status()).toBe(Status.NOT_SERVING), recheck);
    await nats.start();
    await waitFor(async () => expect(await status()).toBe(Status.SERVING), recheck);
  });

  it("turns NOT_SERVING when the database is gone", async () => {
    await database.drop();
    await waitFor(async () => expect(await status()).toBe(Status.NOT_SERVING), recheck);
  });
});

describe("readiness without NATS configured", () => {
  it("follows the database alone: events wait in the outbox, which is not a reason to refuse traffic", async () => {
    const database = await createTestDatabase();
    const auth = await startAuth({ AUTH_DATABASE_URL: database.url }, { delivery: capturingDelivery() });
    try {
      const health = createClient(Health, createGrpcTransport({ baseUrl: auth.baseUrl }));
      expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    } finally {
      await auth.close();
      await database.drop();
    }
  });
});
