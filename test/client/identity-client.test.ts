import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { exportJWK, SignJWT } from "jose";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import {
  authV1,
  createIdentityClients,
  createTokenVerifier,
  type IdentityClients,
  requireRecentAuthentication,
} from "../../services/client/index.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { capturingDelivery, startAuth, startUser, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, type TestDatabase } from "../support/index.js";

// The client package as another team's TypeScript service uses it, against running services.

describe("createIdentityClients", () => {
  let authDatabase: TestDatabase;
  let userDatabase: TestDatabase;
  let auth: RunningService<AuthServiceHandle>;
  let user: RunningService<UserServiceHandle>;
  const delivery = capturingDelivery();
  const opened: IdentityClients[] = [];

  beforeAll(async () => {
    [authDatabase, userDatabase] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    [auth, user] = await Promise.all([
      startAuth({ AUTH_DATABASE_URL: authDatabase.url }, { delivery }),
      startUser({ USER_DATABASE_URL: userDatabase.url }),
    ]);
  });

  afterAll(async () => {
    for (const clients of opened) clients.close();
    await Promise.all([auth?.close(), user?.close()]);
    await Promise.all([authDatabase?.drop(), userDatabase?.drop()]);
  });

  /** Clients that also note the content type of each answer, which tells the protocol used. */
  function clients(protocol: "grpc" | "connect") {
    const contentTypes: string[] = [];
    const noteContentType: Interceptor = (next) => async (request) => {
      const response = await next(request);
      contentTypes.push(response.header.get("content-type") ?? "");
      return response;
    };
    const identity = createIdentityClients({
      authUrl: auth.baseUrl,
      userUrl: user.baseUrl,
      protocol,
      interceptors: [noteContentType],
    });
    opened.push(identity);
    return { identity, contentTypes };
  }

  it.each([
    ["grpc", "application/grpc+proto"],
    ["connect", "application/proto"],
  ] as const)("sends a code through AuthService.SendOtp over the %s protocol", async (protocol, contentType) => {
    const { identity, contentTypes } = clients(protocol);
    const identifier = `${protocol}@example.com`;
    const before = Date.now();
    const response = await identity.auth.sendOtp({
      identifier,
      identifierType: authV1.IdentifierType.EMAIL,
      purpose: authV1.OtpPurpose.LOGIN,
      deviceId: "client-package-test",
    });
    expect(Number(response.expiresAt!.seconds) * 1000).toBeGreaterThan(before);
    expect(delivery.lastCode(identifier)).toMatch(/^\d{6}$/);
    expect(contentTypes).toEqual([contentType]);
  });

  it.each(["grpc", "connect"] as const)("reaches the UserService over the %s protocol", async (protocol) => {
    const { identity } = clients(protocol);
    const error = await identity.user.getMe({}).catch((e: unknown) => ConnectError.from(e));
    // An answer from the user service itself: no token is UNAUTHENTICATED.
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("refuses a garbage token from the auth service's JWKS with UNAUTHENTICATED", async () => {
    const verifier = createTokenVerifier({
      jwksUrl: `${auth.baseUrl}/.well-known/jwks.json`,
      issuer: "mintcoin-auth",
      audience: "mintcoin",
    });
    const error = await verifier.verify("not.a.token").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unauthenticated);
  });
});

describe("createTokenVerifier", () => {
  const issuer = "mintcoin-auth";
  const audience = "mintcoin";
  const kid = "key-1";
  let privateKey: KeyObject;
  let jwks: http.Server;
  let jwksUrl: string;
  let jwksFetches = 0;

  beforeAll(async () => {
    const pair = generateKeyPairSync("ed25519");
    privateKey = pair.privateKey;
    const body = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid, alg: "EdDSA", use: "sig" }] });
    // A JWKS endpoint of our own, so the test can sign tokens and count key fetches.
    jwks = http.createServer((_, response) => {
      jwksFetches++;
      response.writeHead(200, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((resolve) => jwks?.close(resolve));
  });

  const sign = (claims: { sub?: string; aud?: string; typ?: string; auth_time?: number; amr?: string[] } = {}) =>
    new SignJWT({
      sid: "s-1",
      did: "d-1",
      roles: ["user"],
      typ: claims.typ ?? "access",
      email: "ada@example.com",
      email_verified: true,
      ...(claims.auth_time !== undefined && { auth_time: claims.auth_time, amr: claims.amr ?? ["otp"] }),
    })
      .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
      .setSubject(claims.sub ?? "u-1")
      .setIssuer(issuer)
      .setAudience(claims.aud ?? audience)
      .setIssuedAt()
      .setExpirationTime("15m")
      .setJti(randomUUID())
      .sign(privateKey);

  it("accepts a valid access token and returns its caller, fetching the keys once for many tokens", async () => {
    const verifier = createTokenVerifier({ jwksUrl, issuer, audience });
    const fetchesBefore = jwksFetches;
    for (const sub of ["u-1", "u-2", "u-3"]) {
      const caller = await verifier.verify(await sign({ sub }));
      expect(caller).toMatchObject({ userId: sub, sessionId: "s-1", deviceId: "d-1", roles: ["user"] });
      expect(caller.email).toEqual({ value: "ada@example.com", verified: true });
    }
    expect(jwksFetches - fetchesBefore).toBe(1);
  });

  it.each([
    ["another audience", { aud: "someone-else" }],
    ["a token that is not an access token", { typ: "refresh" }],
  ])("refuses %s with UNAUTHENTICATED", async (_, claims) => {
    const verifier = createTokenVerifier({ jwksUrl, issuer, audience });
    const error = await verifier.verify(await sign(claims)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("reads auth_time and amr, and requireRecentAuthentication passes a recent one and refuses an old or missing one with PERMISSION_DENIED / STEP_UP_REQUIRED", async () => {
    const verifier = createTokenVerifier({ jwksUrl, issuer, audience });
    const now = Math.floor(Date.now() / 1000);
    const recent = await verifier.verify(await sign({ auth_time: now - 60, amr: ["pwd"] }));
    expect(recent).toMatchObject({ authTime: new Date((now - 60) * 1000), amr: ["pwd"] });
    expect(() => requireRecentAuthentication(recent, { maxAgeSeconds: 300 })).not.toThrow();

    const old = await verifier.verify(await sign({ auth_time: now - 600 }));
    const missing = await verifier.verify(await sign());
    expect(missing).toMatchObject({ authTime: undefined, amr: [] });
    for (const caller of [old, missing]) {
      let refusal: unknown;
      try {
        requireRecentAuthentication(caller, { maxAgeSeconds: 300 });
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(ConnectError);
      expect((refusal as ConnectError).code).toBe(Code.PermissionDenied);
      expect((refusal as ConnectError).findDetails(ErrorInfoSchema)[0]).toMatchObject({
        reason: "STEP_UP_REQUIRED",
        domain: "identity.mintcoin",
        metadata: { max_age_seconds: "300" },
      });
    }
    expect(() => requireRecentAuthentication(recent, { maxAgeSeconds: 0 })).toThrow(RangeError);
  });
});
