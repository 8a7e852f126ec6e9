import { ErrorInfoSchema, BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { bearer, grpcAuthClient, grpcUserClient, type GrpcClient } from "../fixtures/grpc-clients.js";
import { capturingDelivery, startAuth, startUser, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, startNats, type NatsInstance, type TestDatabase } from "../support/index.js";
import { grpcMethod } from "./grpc-test-kit.js";

// AUTH_GRPC_JS_PORT / USER_GRPC_JS_PORT: a second listener served by @grpc/grpc-js with the same
// routes, handlers and interceptors as the main (Connect) port. Every check here calls both ports
// with the same independent grpc-js client and expects the same answer: results, codes, error
// details, response metadata, authentication, validation and limits.

interface Outcome {
  code: grpc.status | "ok";
  response?: Record<string, unknown>;
  reason?: string;
  fields?: string[];
  metadata: grpc.Metadata | undefined;
}

async function outcome(call: Promise<Record<string, unknown>>): Promise<Outcome> {
  try {
    return { code: "ok", response: await call, metadata: undefined };
  } catch (caught) {
    const error = caught as grpc.ServiceError;
    // Decode google.rpc.Status from the trailers as a Connect client would.
    const trailer = new Headers({
      "grpc-status": String(error.code),
      "grpc-message": encodeURIComponent(error.details),
    });
    const details = error.metadata.get("grpc-status-details-bin")[0];
    if (details instanceof Buffer) trailer.set("grpc-status-details-bin", details.toString("base64"));
    const status = findTrailerError(trailer);
    return {
      code: error.code,
      reason: status?.findDetails(ErrorInfoSchema)[0]?.reason,
      fields: status?.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field),
      metadata: error.metadata,
    };
  }
}

describe("the grpc-js listener beside the Connect port", () => {
  let database: TestDatabase;
  let userDatabase: TestDatabase;
  let nats: NatsInstance;
  let auth: RunningService<AuthServiceHandle>;
  let user: RunningService<UserServiceHandle>;
  const capture = capturingDelivery();
  /** [main port, grpc-js port] */
  let authPorts: [GrpcClient, GrpcClient];
  let userPorts: [GrpcClient, GrpcClient];

  beforeAll(async () => {
    [database, userDatabase, nats] = await Promise.all([createTestDatabase(), createTestDatabase(), startNats()]);
    auth = await startAuth(
      { AUTH_DATABASE_URL: database.url, NATS_URL: nats.url, AUTH_GRPC_JS_PORT: "0" },
      { delivery: capture },
    );
    user = await startUser({
      USER_DATABASE_URL: userDatabase.url,
      NATS_URL: nats.url,
      AUTH_JWKS_URL: `${auth.baseUrl}/.well-known/jwks.json`,
      USER_GRPC_JS_PORT: "0",
    });
    authPorts = [grpcAuthClient(auth.address), grpcAuthClient(`127.0.0.1:${auth.handle.grpcJsPort}`)];
    userPorts = [grpcUserClient(user.address), grpcUserClient(`127.0.0.1:${user.handle.grpcJsPort}`)];
  });
  afterAll(async () => {
    for (const client of [...(authPorts ?? []), ...(userPorts ?? [])]) client.close();
    await user?.close();
    await auth?.close();
    await nats?.stop();
    await Promise.all([database?.drop(), userDatabase?.drop()]);
  });

  /** OTP sign-in through one port; the session's login response. */
  async function signIn(client: GrpcClient, email: string): Promise<Record<string, unknown>> {
    await client.SendOtp({
      identifier: email,
      identifier_type: "IDENTIFIER_TYPE_EMAIL",
      purpose: "OTP_PURPOSE_LOGIN",
      device_id: "d1",
    });
    const { verification_token } = await client.VerifyOtp({
      identifier: email,
      identifier_type: "IDENTIFIER_TYPE_EMAIL",
      purpose: "OTP_PURPOSE_LOGIN",
      code: capture.lastCode(email),
    });
    return client.Login({ verification_token, device_id: "d1", device_name: "test" });
  }

  it("is off unless its port is configured", async () => {
    const plain = await startAuth({ AUTH_DATABASE_URL: database.url }, { delivery: capture });
    try {
      expect(plain.handle.grpcJsPort).toBeUndefined();
    } finally {
      await plain.close();
    }
    expect(auth.handle.grpcJsPort).toBeGreaterThan(0);
    expect(auth.handle.grpcJsPort).not.toBe(auth.handle.port);
  });

  it("signs in on either port, and each port accepts the other's tokens for authenticated RPCs of both services", async () => {
    const viaMain = await signIn(authPorts[0], `main-${process.pid}@example.com`);
    const viaGrpcJs = await signIn(authPorts[1], `grpcjs-${process.pid}@example.com`);
    const tokens = [viaMain, viaGrpcJs].map((login) => (login.tokens as { access_token: string }).access_token);
    for (const [index, token] of tokens.entries()) {
      for (const client of authPorts) {
        const { sessions } = await client.ListSessions({}, bearer(token));
        expect((sessions as Array<{ id: string; current: boolean }>).find((s) => s.current)?.id).toBe(
          [viaMain, viaGrpcJs][index]!.session_id,
        );
      }
      const [main, grpcJs] = await Promise.all(
        authPorts.map((client) => client.ValidateToken({ access_token: token })),
      );
      expect(grpcJs).toEqual(main);
      expect(main).toMatchObject({ valid: true });
    }
    await userPorts[1].CreateUser({ username: `grpcjs_${process.pid}`, name: "Both Ports" }, bearer(tokens[1]!));
    const [main, grpcJs] = await Promise.all(userPorts.map((client) => client.GetMe({}, bearer(tokens[1]!))));
    expect(grpcJs).toEqual(main);
    expect((main.user as { username: string }).username).toBe(`grpcjs_${process.pid}`);
  });

  it("refuses the same way on both ports: missing token, invalid request, rate limit (with retry-after)", async () => {
    const [noToken, noTokenJs] = await Promise.all(authPorts.map((client) => outcome(client.ListSessions({}))));
    expect(noTokenJs.code).toBe(grpc.status.UNAUTHENTICATED);
    expect({ ...noTokenJs, metadata: undefined }).toEqual({ ...noToken, metadata: undefined });
    expect(noTokenJs.reason).toBe("ACCESS_TOKEN_MISSING");

    const invalid = {
      identifier: "not an email",
      identifier_type: "IDENTIFIER_TYPE_EMAIL",
      purpose: "OTP_PURPOSE_LOGIN",
      device_id: "d1",
    };
    const [bad, badJs] = await Promise.all(authPorts.map((client) => outcome(client.SendOtp(invalid))));
    expect(badJs.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badJs.fields).toEqual(bad.fields);
    expect(badJs.fields?.length).toBeGreaterThan(0);

    const email = `limited-${process.pid}@example.com`;
    const send = {
      identifier: email,
      identifier_type: "IDENTIFIER_TYPE_EMAIL",
      purpose: "OTP_PURPOSE_LOGIN",
      device_id: "d1",
    };
    for (let index = 0; index < 3; index++) await authPorts[index % 2]!.SendOtp(send);
    const [limited, limitedJs] = [await outcome(authPorts[0].SendOtp(send)), await outcome(authPorts[1].SendOtp(send))];
    for (const refusal of [limited, limitedJs]) {
      expect(refusal.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(refusal.reason).toBe("OTP_SEND_RATE_LIMITED");
      expect(Number(refusal.metadata!.get("retry-after")[0])).toBeGreaterThan(0);
      expect(String(refusal.metadata!.get("x-request-id")[0])).not.toBe("");
    }
  });

  it("echoes the request id in the response metadata and answers health checks", async () => {
    const health = grpcMethod<{ service: string }, { status: string }>(
      "grpc/health/v1/health.proto",
      "grpc.health.v1.Health",
      "Check",
    );
    for (const port of [auth.handle.port, auth.handle.grpcJsPort!]) {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      try {
        const metadata = new grpc.Metadata();
        metadata.set("x-request-id", "grpc-js-listener-test");
        const { response, header } = await new Promise<{ response: { status: string }; header: grpc.Metadata }>(
          (resolve, reject) => {
            let header = new grpc.Metadata();
            const call = client.makeUnaryRequest(
              health.path,
              health.requestSerialize,
              health.responseDeserialize,
              { service: "mintcoin.auth.v1.AuthService" },
              metadata,
              (error, value) => (error ? reject(error) : resolve({ response: value!, header })),
            );
            call.on("metadata", (received: grpc.Metadata) => (header = received));
          },
        );
        expect(response.status).toBe("SERVING");
        expect(header.get("x-request-id")).toEqual(["grpc-js-listener-test"]);
      } finally {
        client.close();
      }
    }
  });

  it("answers a request body that does not decode with INVALID_ARGUMENT, as the main port does", async () => {
    const garbage = Buffer.from([0x0a, 0x05, 0xff, 0xfe]); // field 1 (identifier): 5 bytes announced, 2 sent
    for (const port of [auth.handle.port, auth.handle.grpcJsPort!]) {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      try {
        const error = await new Promise<grpc.ServiceError>((resolve, reject) =>
          client.makeUnaryRequest(
            "/mintcoin.auth.v1.AuthService/SendOtp",
            () => garbage,
            (bytes: Buffer) => bytes,
            {},
            (failure) => (failure ? resolve(failure) : reject(new Error("expected a refusal"))),
          ),
        );
        expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      } finally {
        client.close();
      }
    }
  });
});
