import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { localJwksUrl, startBothServices, type BothServices } from "../../services/both-services.js";
import { bearer, grpcUserClient } from "../fixtures/grpc-clients.js";
import { capturingDelivery, connectAuthClient, connectUserClient } from "../fixtures/services.js";
import { createTestDatabase, startNats, type NatsInstance, type TestDatabase } from "../support/index.js";

// `npm start` runs both services in one process (services/both-services.ts). The user service must
// find the auth service's keys wherever that one listens, with no second setting, while an explicit
// AUTH_JWKS_URL still wins.

describe("npm start: both services in one process", () => {
  let nats: NatsInstance;
  let authDatabase: TestDatabase;
  let userDatabase: TestDatabase;
  const capture = capturingDelivery();
  let env: Record<string, string>;

  beforeAll(async () => {
    [nats, authDatabase, userDatabase] = await Promise.all([startNats(), createTestDatabase(), createTestDatabase()]);
    env = {
      AUTH_DATABASE_URL: authDatabase.url,
      USER_DATABASE_URL: userDatabase.url,
      NATS_URL: nats.url,
      // Port 0: whatever free port the system gives, certainly not the default 50051.
      AUTH_PORT: "0",
      USER_PORT: "0",
      AUTH_METRICS_PORT: "off",
      USER_METRICS_PORT: "off",
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    };
  });
  afterAll(async () => {
    await nats?.stop();
    await Promise.allSettled([authDatabase?.drop(), userDatabase?.drop()]);
  });

  async function signIn(both: BothServices, email: string): Promise<string> {
    const auth = connectAuthClient(`http://127.0.0.1:${both.auth.port}`);
    await auth.sendOtp({
      identifier: email,
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "laptop",
    });
    const { verificationToken } = await auth.verifyOtp({
      identifier: email,
      identifierType: IdentifierType.EMAIL,
      code: capture.lastCode(email),
      purpose: OtpPurpose.LOGIN,
    });
    const login = await auth.login({ verificationToken, deviceId: "laptop" });
    return login.tokens!.accessToken;
  }

  it("serves UserService RPCs with the auth service's tokens when AUTH_PORT is not the default", async () => {
    const both = await startBothServices(env, { auth: { delivery: capture } });
    try {
      expect(both.auth.port).not.toBe(50051);
      const token = await signIn(both, "ada-npm-start@example.com");
      const users = connectUserClient(`http://127.0.0.1:${both.user.port}`);
      const { user } = await users.createUser(
        { username: "ada_npm_start", name: "Ada" },
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(user).toMatchObject({ username: "ada_npm_start", email: "ada-npm-start@example.com" });

      const grpc = grpcUserClient(`127.0.0.1:${both.user.port}`);
      try {
        expect(await grpc.GetMe({}, bearer(token))).toMatchObject({ user: { username: "ada_npm_start" } });
      } finally {
        grpc.close();
      }
    } finally {
      await both.close();
    }
  });

  it("lets an explicit AUTH_JWKS_URL win over the auth service started beside it", async () => {
    // Nothing listens on the discard port: with the explicit URL, no token can be checked.
    const both = await startBothServices(
      { ...env, AUTH_JWKS_URL: "http://127.0.0.1:9/.well-known/jwks.json" },
      { auth: { delivery: capture } },
    );
    try {
      const token = await signIn(both, "grace-npm-start@example.com");
      const error = await connectUserClient(`http://127.0.0.1:${both.user.port}`)
        .getMe({}, { headers: { authorization: `Bearer ${token}` } })
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(error?.code).toBe(Code.Unavailable);
      expect(error?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("JWKS_UNAVAILABLE");
    } finally {
      await both.close();
    }
  });

  it("reaches an auth service on a wildcard or IPv6 address through the loopback of its family", () => {
    expect(localJwksUrl("127.0.0.1", 6000)).toBe("http://127.0.0.1:6000/.well-known/jwks.json");
    expect(localJwksUrl("0.0.0.0", 6000)).toBe("http://127.0.0.1:6000/.well-known/jwks.json");
    expect(localJwksUrl("::", 6000)).toBe("http://[::1]:6000/.well-known/jwks.json");
    expect(localJwksUrl("localhost", 6000)).toBe("http://localhost:6000/.well-known/jwks.json");
  });
});
