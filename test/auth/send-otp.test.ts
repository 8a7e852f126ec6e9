import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { OtpDeliveryRequestSchema } from "../../gen/mintcoin/events/v1/notify_pb.js";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { collectEvents, type EventCollector } from "../fixtures/events.js";
import { grpc, grpcAuthClient, type GrpcClient } from "../fixtures/grpc-clients.js";
import { connectAuthClient, startAuth, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, startNats, waitFor, type NatsInstance, type TestDatabase } from "../support/index.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";

// The first vertical slice through the spine: SendOtp on real Postgres, its rate limit, its event
// through the outbox to JetStream, called by grpc-js and by a Connect client over HTTP/1.1.

describe("AuthService.SendOtp", () => {
  let database: TestDatabase;
  let nats: NatsInstance;
  let auth: RunningService<AuthServiceHandle>;
  let grpcClient: GrpcClient;
  let events: EventCollector;

  beforeAll(async () => {
    [database, nats] = await Promise.all([createTestDatabase(), startNats()]);
    auth = await startAuth({ AUTH_DATABASE_URL: database.url, NATS_URL: nats.url, OTP_DELIVERY: "nats" });
    grpcClient = grpcAuthClient(auth.address);
    events = await collectEvents(nats.url);
  });

  afterAll(async () => {
    grpcClient?.close();
    await events?.close();
    await auth?.close();
    await nats?.stop();
    await database?.drop();
  });

  it("answers a grpc-js client with the expiry and when a resend is possible", async () => {
    const before = Date.now();
    const response = await grpcClient.SendOtp({
      identifier: "+44 7911 123456",
      identifier_type: "IDENTIFIER_TYPE_PHONE",
      purpose: "OTP_PURPOSE_LOGIN",
      device_id: "device-grpc-1",
    });
    const expiresAt = Number((response.expires_at as { seconds: string }).seconds) * 1000;
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 5 * 60_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 5 * 60_000);
    expect(response.resend_available_at).toBeTruthy();
  });

  it("answers a Connect client over HTTP/1.1 and publishes auth.otp.sent without the code", async () => {
    const client = connectAuthClient(auth.baseUrl);
    await client.sendOtp({
      identifier: "  Ada@Example.COM ",
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "device-web-1",
    });

    const sent = await events.waitForEvents("auth.otp.sent", 2);
    const event = sent.find((e) => e.identifier === "ada@example.com");
    expect(event).toBeDefined();
    expect(event!.identifierType).toBe(IdentifierType.EMAIL);
    expect(event!.purpose).toBe(OtpPurpose.LOGIN);
    expect(event!.deviceId).toBe("device-web-1");
    expect(event!.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event!.occurredAt).toBeDefined();

    const raw = events.events.find((e) => e.subject === "auth.otp.sent" && e.msgId === event!.eventId)!;
    expect(raw.headers["Content-Type"]).toBe("application/protobuf");
    expect(raw.headers["Event-Type"]).toBe("mintcoin.events.v1.OtpSent");

    // The code travels only to the notification stream, never in an event.
    const delivery = await waitForDelivery(events, "notify.otp.email", "ada@example.com");
    expect(delivery!.code).toMatch(/^\d{6}$/);
    for (const e of events.events.filter((e) => e.subject.startsWith("auth."))) {
      expect(Buffer.from(e.payload).includes(Buffer.from(delivery!.code))).toBe(false);
    }
  });

  it("takes device_id as optional: grpc-js and Connect requests without one get a code that signs in", async () => {
    await grpcClient.SendOtp({
      identifier: "no-device-grpc@example.com",
      identifier_type: "IDENTIFIER_TYPE_EMAIL",
      purpose: "OTP_PURPOSE_LOGIN",
    });
    const client = connectAuthClient(auth.baseUrl);
    await client.sendOtp({
      identifier: "no-device-web@example.com",
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
    });
    await client.sendOtp({
      identifier: "with-device@example.com",
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "tablet-7",
    });

    const stored = await auth.handle.runtime.db
      .selectFrom("otp_codes")
      .select(["identifier", "device_id"])
      .where("identifier", "in", ["no-device-grpc@example.com", "no-device-web@example.com", "with-device@example.com"])
      .orderBy("identifier")
      .execute();
    expect(stored).toEqual([
      { identifier: "no-device-grpc@example.com", device_id: null },
      { identifier: "no-device-web@example.com", device_id: null },
      { identifier: "with-device@example.com", device_id: "tablet-7" },
    ]);
    const sent = await waitFor(() =>
      events.decoded("auth.otp.sent").find((e) => e.identifier === "no-device-web@example.com"),
    );
    expect(sent!.deviceId).toBe("");

    // The device that signs in is the one Login names.
    const delivery = await waitForDelivery(events, "notify.otp.email", "no-device-web@example.com");
    const { verificationToken } = await client.verifyOtp({
      identifier: "no-device-web@example.com",
      identifierType: IdentifierType.EMAIL,
      code: delivery!.code,
      purpose: OtpPurpose.LOGIN,
    });
    const login = await client.login({ verificationToken, deviceId: "phone-1" });
    expect(login.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("normalises phone numbers to E.164 so spellings of one number share a limit", async () => {
    const spellings = ["+44 7911 123457", "+447911123457", "+44 (0)7911-123-457"];
    for (const identifier of spellings) {
      await grpcClient.SendOtp({
        identifier,
        identifier_type: "IDENTIFIER_TYPE_PHONE",
        purpose: "OTP_PURPOSE_LOGIN",
        device_id: "d1",
      });
    }
    const error = await grpcClient
      .SendOtp({
        identifier: "+447911123457",
        identifier_type: "IDENTIFIER_TYPE_PHONE",
        purpose: "OTP_PURPOSE_LOGIN",
        device_id: "d1",
      })
      .catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("refuses the fourth code in the window with RESOURCE_EXHAUSTED and RetryInfo", async () => {
    const client = connectAuthClient(auth.baseUrl);
    const request = {
      identifier: "limit@example.com",
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "d",
    };
    const last = await [1, 2, 3].reduce(
      async (previous) => {
        await previous;
        return client.sendOtp(request);
      },
      Promise.resolve() as Promise<unknown>,
    );
    expect(last).toBeDefined();
    const error = await client.sendOtp(request).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    const connectError = error as ConnectError;
    expect(connectError.code).toBe(Code.ResourceExhausted);
    const [retryInfo] = connectError.findDetails(RetryInfoSchema);
    expect(Number(retryInfo?.retryDelay?.seconds)).toBeGreaterThan(14 * 60);
    expect(connectError.metadata.get("retry-after")).toMatch(/^\d+$/);
  });

  it("lets exactly the allowed number of 20 concurrent sends through", async () => {
    const client = connectAuthClient(auth.baseUrl);
    const request = {
      identifier: "race@example.com",
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "d",
    };
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => client.sendOtp(request)));
    const succeeded = results.filter((r) => r.status === "fulfilled").length;
    const refused = results.filter(
      (r) => r.status === "rejected" && ConnectError.from(r.reason).code === Code.ResourceExhausted,
    ).length;
    expect(succeeded).toBe(3);
    expect(refused).toBe(17);
  });

  it("answers bad input with INVALID_ARGUMENT naming the field", async () => {
    const client = connectAuthClient(auth.baseUrl);
    const cases = [
      {
        request: {
          identifier: "not-a-phone",
          identifierType: IdentifierType.PHONE,
          purpose: OtpPurpose.LOGIN,
          deviceId: "d",
        },
        field: "identifier",
      },
      {
        request: { identifier: "x@", identifierType: IdentifierType.EMAIL, purpose: OtpPurpose.LOGIN, deviceId: "d" },
        field: "identifier",
      },
      {
        request: {
          identifier: "a@example.com",
          identifierType: IdentifierType.UNSPECIFIED,
          purpose: OtpPurpose.LOGIN,
          deviceId: "d",
        },
        field: "identifier_type",
      },
      {
        request: {
          identifier: "a@example.com",
          identifierType: IdentifierType.EMAIL,
          purpose: 99 as OtpPurpose,
          deviceId: "d",
        },
        field: "purpose",
      },
      {
        // Optional, but when given it must be a device id.
        request: {
          identifier: "a@example.com",
          identifierType: IdentifierType.EMAIL,
          purpose: OtpPurpose.LOGIN,
          deviceId: "not a device id!",
        },
        field: "device_id",
      },
      {
        request: {
          identifier: "a@example.com",
          identifierType: IdentifierType.EMAIL,
          purpose: OtpPurpose.LOGIN,
          deviceId: "d".repeat(129),
        },
        field: "device_id",
      },
    ];
    for (const { request, field } of cases) {
      const error = ConnectError.from(await client.sendOtp(request).catch((e: unknown) => e));
      expect(error.code, field).toBe(Code.InvalidArgument);
      expect(error.rawMessage, field).toContain(field);
    }
  });

  it("keeps delivery requests in NOTIFY_OTP no longer than a code lives, shortening a stream that keeps them longer", async () => {
    const jsm = await jetstreamManager(await auth.handle.runtime.nats!.ready.then((link) => link.connection));
    const minutes = (nanoseconds: number) => nanoseconds / 60e9;
    expect(minutes((await jsm.streams.info("NOTIFY_OTP")).config.max_age)).toBe(5); // OTP_EXPIRATION_MINUTES

    // Made (or edited) elsewhere to keep them forever: the next auth service to connect shortens it.
    await jsm.streams.update("NOTIFY_OTP", { max_age: 0 });
    const shortLived = await startAuth({
      AUTH_DATABASE_URL: database.url,
      NATS_URL: nats.url,
      OTP_DELIVERY: "nats",
      OTP_EXPIRATION_MINUTES: "2",
    });
    try {
      await shortLived.handle.runtime.nats!.ready;
      const { config } = await jsm.streams.info("NOTIFY_OTP");
      expect(minutes(config.max_age)).toBe(2);
      expect(config.duplicate_window).toBeLessThanOrEqual(config.max_age);
    } finally {
      await shortLived.close();
    }
  });

  it("answers a method the service does not have with UNIMPLEMENTED", async () => {
    const raw = new grpc.Client(auth.address, grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError | null>((resolve) =>
        raw.makeUnaryRequest(
          "/mintcoin.auth.v1.AuthService/NoSuchMethod",
          (value: Buffer) => value,
          (bytes: Buffer) => bytes,
          Buffer.alloc(0),
          (failure) => resolve(failure),
        ),
      );
      expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      raw.close();
    }
  });
});

async function waitForDelivery(events: EventCollector, subject: string, identifier: string) {
  const { waitFor } = await import("../support/index.js");
  return waitFor(() =>
    events.events
      .filter((e) => e.subject === subject)
      .map((e) => fromBinary(OtpDeliveryRequestSchema, e.payload))
      .find((request) => request.identifier === identifier),
  );
}
