import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { loadAuthConfig } from "../../services/auth/config.js";
import { ConfigError } from "../../services/shared/config/env.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { scrape, sampleValue, type Sample } from "../fixtures/metrics.js";
import {
  capturingDelivery,
  connectAuthClient,
  startAuth,
  startUser,
  type RunningService,
} from "../fixtures/services.js";
import { createTestDatabase, startNats, waitFor, type NatsInstance, type TestDatabase } from "../support/index.js";

// What an operator scrapes: GET /metrics on each service's own port, after real calls.

const authService = "mintcoin.auth.v1.AuthService";

function metricsPortOf(service: RunningService<AuthServiceHandle | UserServiceHandle>): number {
  const server = service.handle.runtime.metricsServer;
  if (!server) throw new Error("the metrics server is off");
  return server.port;
}

describe("Prometheus metrics", () => {
  let authDatabase: TestDatabase;
  let userDatabase: TestDatabase;
  let nats: NatsInstance;
  let auth: RunningService<AuthServiceHandle>;
  let user: RunningService<UserServiceHandle>;
  const delivery = capturingDelivery();

  beforeAll(async () => {
    [authDatabase, userDatabase, nats] = await Promise.all([createTestDatabase(), createTestDatabase(), startNats()]);
    // Both services in one process, as `npm start` runs them: their registries must not clash.
    auth = await startAuth({ AUTH_DATABASE_URL: authDatabase.url, NATS_URL: nats.url }, { delivery });
    user = await startUser({ USER_DATABASE_URL: userDatabase.url, NATS_URL: nats.url });
    await auth.handle.runtime.nats!.ready;
  });

  afterAll(async () => {
    await user?.close();
    await auth?.close();
    await nats?.stop();
    await Promise.all([authDatabase?.drop(), userDatabase?.drop()]);
  });

  it("counts RPCs by method and code, times them, and counts rate-limit refusals and OTP sends by channel", async () => {
    const client = connectAuthClient(auth.baseUrl);
    const email = {
      identifier: "metrics@example.com",
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "d",
    };
    for (let i = 0; i < 3; i++) await client.sendOtp(email);
    const refused = await client.sendOtp(email).catch((e: unknown) => ConnectError.from(e));
    expect((refused as ConnectError).code).toBe(Code.ResourceExhausted);
    await client.sendOtp({
      identifier: "+44 7911 123400",
      identifierType: IdentifierType.PHONE,
      purpose: OtpPurpose.LOGIN,
      deviceId: "d",
    });
    const invalid = await client
      .sendOtp({ ...email, identifierType: IdentifierType.UNSPECIFIED })
      .catch((e: unknown) => ConnectError.from(e));
    expect((invalid as ConnectError).code).toBe(Code.InvalidArgument);

    const samples = await scrape(metricsPortOf(auth));
    const handled = (code: string) =>
      sampleValue(samples, "mintcoin_rpc_handled_total", { service: authService, method: "SendOtp", code });
    expect(handled("OK")).toBe(4);
    expect(handled("RESOURCE_EXHAUSTED")).toBe(1);
    expect(handled("INVALID_ARGUMENT")).toBe(1);
    expect(sampleValue(samples, "mintcoin_rate_limit_refusals_total", { method: "SendOtp" })).toBe(1);
    expect(sampleValue(samples, "mintcoin_otp_sent_total", { channel: "email" })).toBe(3);
    expect(sampleValue(samples, "mintcoin_otp_sent_total", { channel: "sms" })).toBe(1);

    const durationLabels = { service: authService, method: "SendOtp" };
    expect(sampleValue(samples, "mintcoin_rpc_duration_seconds_count", durationLabels)).toBe(6);
    const totalSeconds = sampleValue(samples, "mintcoin_rpc_duration_seconds_sum", durationLabels)!;
    expect(totalSeconds).toBeGreaterThan(0);
    expect(totalSeconds).toBeLessThan(60);
    // Every call falls in the +Inf bucket; buckets are cumulative.
    expect(sampleValue(samples, "mintcoin_rpc_duration_seconds_bucket", { ...durationLabels, le: "+Inf" })).toBe(6);
  });

  it("does not count an oversized message as a rate-limit refusal", async () => {
    const client = connectAuthClient(auth.baseUrl);
    const oversized = {
      identifier: "x".repeat(100 * 1024),
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "d",
    };
    const error = await client.sendOtp(oversized).catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
    const samples = await scrape(metricsPortOf(auth));
    expect(sampleValue(samples, "mintcoin_rate_limit_refusals_total", { method: "SendOtp" })).toBe(1);
  });

  it("counts the events the relay published, by subject, and times each from its transaction", async () => {
    const samples = await waitFor(async () => {
      const current = await scrape(metricsPortOf(auth));
      return (sampleValue(current, "mintcoin_events_published_total", { subject: "auth.otp.sent" }) ?? 0) >= 4
        ? current
        : undefined;
    });
    // Four codes were issued above; refused and invalid calls commit no event.
    expect(sampleValue(samples!, "mintcoin_events_published_total", { subject: "auth.otp.sent" })).toBe(4);
    const allPublished = samples!
      .filter((s) => s.name === "mintcoin_events_published_total")
      .reduce((sum, s) => sum + s.value, 0);
    expect(sampleValue(samples!, "mintcoin_outbox_relay_lag_seconds_count")).toBe(allPublished);
    const lagSeconds = sampleValue(samples!, "mintcoin_outbox_relay_lag_seconds_sum")!;
    expect(lagSeconds).toBeGreaterThan(0);
    expect(lagSeconds / allPublished).toBeLessThan(10);
  });

  it("shows an empty outbox once the relay has caught up, and the database and NATS as up", async () => {
    const samples = await waitFor(
      async () => {
        const current = await scrape(metricsPortOf(auth));
        expect(sampleValue(current, "mintcoin_outbox_pending_events")).toBe(0);
        expect(sampleValue(current, "mintcoin_dependency_up", { dependency: "nats" })).toBe(1);
        return current;
      },
      { timeoutMs: 15_000 },
    );
    expect(sampleValue(samples, "mintcoin_outbox_oldest_pending_age_seconds")).toBe(0);
    expect(sampleValue(samples, "mintcoin_dependency_up", { dependency: "database" })).toBe(1);
  });

  it("serves Node's process metrics", async () => {
    const samples = await scrape(metricsPortOf(auth));
    expect(sampleValue(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(sampleValue(samples, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(sampleValue(samples, "nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
  });

  it("keeps each service's series on its own port when both run in one process", async () => {
    const names = (samples: Sample[]) => new Set(samples.map((sample) => sample.name));
    const [authSamples, userSamples] = await Promise.all([scrape(metricsPortOf(auth)), scrape(metricsPortOf(user))]);
    expect(metricsPortOf(user)).not.toBe(metricsPortOf(auth));
    expect(names(authSamples).has("mintcoin_otp_sent_total")).toBe(true);
    expect(names(userSamples).has("mintcoin_otp_sent_total")).toBe(false);
    expect(userSamples.some((sample) => sample.labels.service === authService)).toBe(false);
    expect(names(userSamples).has("mintcoin_outbox_pending_events")).toBe(true);
    expect(names(userSamples).has("process_cpu_user_seconds_total")).toBe(true);
  });

  it("answers 404 for anything but GET /metrics", async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPortOf(auth)}/`);
    expect(response.status).toBe(404);
    await response.text();
  });
});

describe("Prometheus metrics while NATS is down", () => {
  let database: TestDatabase;
  let nats: NatsInstance;
  let auth: RunningService<AuthServiceHandle>;

  beforeAll(async () => {
    [database, nats] = await Promise.all([createTestDatabase(), startNats()]);
    auth = await startAuth({ AUTH_DATABASE_URL: database.url, NATS_URL: nats.url }, { delivery: capturingDelivery() });
    await auth.handle.runtime.nats!.ready;
  });

  afterAll(async () => {
    await auth?.close();
    await nats?.stop();
    await database?.drop();
  });

  it("shows the outbox backlog and the age of its oldest event, and both fall to zero once NATS is back", async () => {
    await nats.stop();
    const client = connectAuthClient(auth.baseUrl);
    const request = {
      identifier: "backlog@example.com",
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "d",
    };
    await client.sendOtp(request);
    await client.sendOtp(request);

    const during = await scrape(metricsPortOf(auth));
    expect(sampleValue(during, "mintcoin_outbox_pending_events")).toBe(2);
    const age = sampleValue(during, "mintcoin_outbox_oldest_pending_age_seconds")!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);

    await nats.start();
    const after = await waitFor(
      async () => {
        const samples = await scrape(metricsPortOf(auth));
        expect(sampleValue(samples, "mintcoin_outbox_pending_events")).toBe(0);
        // One scrape reads the gauges from the database and the counters from memory: wait for both.
        expect(sampleValue(samples, "mintcoin_events_published_total", { subject: "auth.otp.sent" })).toBe(2);
        return samples;
      },
      { timeoutMs: 20_000 },
    );
    expect(sampleValue(after, "mintcoin_outbox_oldest_pending_age_seconds")).toBe(0);
  });
});

describe("metrics configuration", () => {
  it("defaults to port 9464 for the auth service", () => {
    expect(loadAuthConfig({}).AUTH_METRICS_PORT).toBe(9464);
  });

  it('turns the metrics server off with "off"', async () => {
    const database = await createTestDatabase();
    const auth = await startAuth({ AUTH_DATABASE_URL: database.url, AUTH_METRICS_PORT: "off", OTP_DELIVERY: "log" });
    try {
      expect(auth.handle.runtime.metricsServer).toBeUndefined();
    } finally {
      await auth.close();
      await database.drop();
    }
  });

  it("listens on METRICS_HOST, 127.0.0.1 by default, not on HOST: publishing the RPC port does not publish metrics", async () => {
    const database = await createTestDatabase();
    const reachable = (host: string, port: number) =>
      scrape(port, host).then(
        () => true,
        () => false,
      );
    // Addresses of the loopback range stand for "an interface the public reaches" and "a private one".
    const published = await startUser({ USER_DATABASE_URL: database.url, HOST: "127.0.0.2" });
    try {
      const port = metricsPortOf(published);
      expect(await reachable("127.0.0.1", port)).toBe(true);
      expect(await reachable("127.0.0.2", port)).toBe(false);
    } finally {
      await published.close();
    }
    const chosen = await startUser({ USER_DATABASE_URL: database.url, METRICS_HOST: "127.0.0.3" });
    try {
      const port = metricsPortOf(chosen);
      expect(await reachable("127.0.0.3", port)).toBe(true);
      expect(await reachable("127.0.0.1", port)).toBe(false);
    } finally {
      await chosen.close();
      await database.drop();
    }
  });

  it("refuses a bad port, naming the variable", () => {
    expect(() => loadAuthConfig({ AUTH_METRICS_PORT: "ninety" })).toThrow(ConfigError);
    expect(() => loadAuthConfig({ AUTH_METRICS_PORT: "70000" })).toThrow(/AUTH_METRICS_PORT/);
  });
});
