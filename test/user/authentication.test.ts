import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { SessionRevokeReason } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { bearer, grpc } from "../fixtures/grpc-clients.js";
import { refusedWithin, waitFor } from "../support/index.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { connectUserClient, startUser, type RunningService } from "../fixtures/services.js";
import { startTokenIssuer, type TokenIssuer } from "../fixtures/tokens.js";
import { createTestDatabase, type TestDatabase } from "../support/index.js";
import { bearerOptions, freshUsername, startUserHarness, type UserHarness } from "./harness.js";

// The user service verifies access tokens itself, against the auth service's JWKS (here the token
// fixture's), refuses every kind of forged or misdirected token, checks roles for admin RPCs, and
// refuses the tokens of a revoked session within a second of auth.session.revoked.

describe("UserService authentication", () => {
  let h: UserHarness;

  beforeAll(async () => {
    h = await startUserHarness({ env: { AUTH_JWKS_COOLDOWN: "0s" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const refusal = async (token: string | undefined) => {
    const options = token === undefined ? {} : bearerOptions(token);
    return ConnectError.from(
      await h.client.getMe({}, options).then(
        () => new Error("expected a refusal"),
        (e: unknown) => e,
      ),
    );
  };

  it("accepts a well-formed token signed with a key from the JWKS", async () => {
    const { as, userId } = await h.signUp();
    const { user } = await h.client.getMe({}, as);
    expect(user!.id).toBe(userId);
  });

  it("refuses calls without a token, or with a header that is not a bearer token", async () => {
    expect((await refusal(undefined)).code).toBe(Code.Unauthenticated);
    const basic = await h.client
      .getMe({}, { headers: { authorization: "Basic dXNlcjpwYXNz" } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((basic as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("refuses alg none, HS256 with the public key as secret, and a foreign key claiming a known kid", async () => {
    const { claims } = await h.signUp();
    const subject = { sub: claims.sub };
    for (const token of [h.tokens.unsigned(subject), await h.tokens.hmac(subject), await h.tokens.forged(subject)]) {
      expect((await refusal(token)).code).toBe(Code.Unauthenticated);
    }
  });

  it("refuses wrong audience, wrong issuer, expired, refresh-typed and wrongly-typed tokens", async () => {
    const { claims } = await h.signUp();
    const subject = { sub: claims.sub };
    const cases = {
      audience: await h.tokens.issue(subject, { audience: "another-service" }),
      issuer: await h.tokens.issue(subject, { issuer: "someone-else" }),
      expired: await h.tokens.issue(subject, { expiresInSeconds: -60 }),
      typ: await h.tokens.issue(subject, { claims: { typ: "refresh" } }),
      header: await h.tokens.issue(subject, { header: { typ: "JWT" } }),
      roles: await h.tokens.issue(subject, { claims: { roles: "admin" } }),
    };
    for (const [name, { token }] of Object.entries(cases)) {
      const error = await refusal(token);
      expect(error.code, name).toBe(Code.Unauthenticated);
    }
    expect((await refusal(cases.expired.token)).rawMessage).toContain("expired");
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const { token } = await h.signUp();
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    claims.roles = ["admin"];
    const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    expect((await refusal(tampered)).code).toBe(Code.Unauthenticated);
  });

  it("fetches the JWKS again when a token names a key it has not seen (rotation), and only then", async () => {
    const { as } = await h.signUp();
    await h.client.getMe({}, as);
    const fetchesBefore = h.tokens.jwksFetches();
    await h.client.getMe({}, as);
    expect(h.tokens.jwksFetches()).toBe(fetchesBefore);

    await h.tokens.rotate();
    const rotated = await h.signUp();
    const { user } = await h.client.getMe({}, rotated.as);
    expect(user!.id).toBe(rotated.userId);
    expect(h.tokens.jwksFetches()).toBeGreaterThan(fetchesBefore);
    // Tokens signed with the previous key still verify: it is still in the JWKS.
    await h.client.getMe({}, as);
  });

  it("refuses a kid that is in no JWKS", async () => {
    const { claims } = await h.signUp();
    const { token } = await h.tokens.issue({ sub: claims.sub }, { header: { kid: "no-such-key" } });
    expect((await refusal(token)).code).toBe(Code.Unauthenticated);
  });

  it("lets only admins and service accounts with the RPC's scope call the admin RPCs (PERMISSION_DENIED otherwise)", async () => {
    const target = await h.signUp();
    const plain = await h.signUp();
    const denied = await h.client
      .getUserByPhone({ phone: target.claims.phone! }, plain.as)
      .catch((e: unknown) => ConnectError.from(e));
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
    const grpcDenied = (await h.grpc
      .SuspendUser({ user_id: target.userId, reason: "x" }, bearer(plain.token))
      .catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(grpcDenied.code).toBe(grpc.status.PERMISSION_DENIED);

    const service = await h.tokens.service({ scopes: ["users.read"] });
    const { user } = await h.client.getUserByPhone({ phone: target.claims.phone! }, bearerOptions(service));
    expect(user!.id).toBe(target.userId);
    const withoutScope = await h.tokens.service({ scopes: ["users.moderate"] });
    const scopeDenied = await h.client
      .getUserByPhone({ phone: target.claims.phone! }, bearerOptions(withoutScope))
      .catch((e: unknown) => ConnectError.from(e));
    expect((scopeDenied as ConnectError).code).toBe(Code.PermissionDenied);
    expect((scopeDenied as ConnectError).findDetails(ErrorInfoSchema)[0]?.reason).toBe("INSUFFICIENT_SCOPE");
    // A person's token claiming the role "service" is still a person's: no admin RPC for it.
    const pretender = await h.tokens.issue({ roles: ["user", "service"] });
    const pretenderDenied = await h.client
      .getUserByPhone({ phone: target.claims.phone! }, bearerOptions(pretender.token))
      .catch((e: unknown) => ConnectError.from(e));
    expect((pretenderDenied as ConnectError).code).toBe(Code.PermissionDenied);
    const admin = await h.tokens.admin();
    const byAdmin = await h.client.getUserByPhone({ phone: target.claims.phone! }, bearerOptions(admin.token));
    expect(byAdmin.user!.id).toBe(target.userId);
  });

  it("refuses a service account's token on a person's RPCs (NOT_A_USER) but answers it the public views, and refuses service tokens whose claims do not hold together", async () => {
    const service = await h.tokens.service({ scopes: ["users.read", "users.moderate", "users.kyc"] });
    for (const call of [
      () => h.client.getMe({}, bearerOptions(service)),
      () => h.client.createUser({ username: "svc_profile", name: "S" }, bearerOptions(service)),
      () => h.client.checkUsernameAvailability({ username: "svc_profile" }, bearerOptions(service)),
    ]) {
      const refused = ConnectError.from(await call().catch((e: unknown) => e));
      expect(refused.code).toBe(Code.PermissionDenied);
      expect(refused.findDetails(ErrorInfoSchema)[0]?.reason).toBe("NOT_A_USER");
    }
    // GetUser and GetUserByUsername need no token: they answer a service as they answer anyone.
    const someone = await h.signUp();
    const seen = await h.client.getUser({ userId: someone.userId }, bearerOptions(service));
    expect(seen.user?.username).toBe(someone.user.username);
    const missing = ConnectError.from(
      await h.client.getUser({ userId: randomUUID() }, bearerOptions(service)).catch((e: unknown) => e),
    );
    expect(missing.code).toBe(Code.NotFound);
    const malformed = [
      await h.tokens.service({ clientId: "svc_a", scopes: ["users.read"] }, { claims: { client_id: "svc_b" } }),
      await h.tokens.service({ scopes: [] }),
      await h.tokens.service({ scopes: ["users.read"] }, { claims: { sid: randomUUID() } }),
      await h.tokens.service({ scopes: ["users.read"] }, { claims: { roles: ["service", "admin"] } }),
      await h.tokens.service({ scopes: ["users.read"] }, { claims: { scope: 'users.read "x"' } }),
    ];
    for (const token of malformed) {
      const refused = ConnectError.from(
        await h.client.getUserByEmail({ email: "nobody@example.com" }, bearerOptions(token)).catch((e: unknown) => e),
      );
      expect(refused.code).toBe(Code.Unauthenticated);
    }
  });

  it("refuses a revoked session's tokens within a second of auth.session.revoked, and only that session's", async () => {
    const person = await h.signUp();
    const otherSession = await h.tokens.user({ sub: person.userId });
    await h.client.getMe({}, person.as);

    await h.publisher.publish("auth.session.revoked", {
      userId: person.userId,
      sessionId: person.claims.sid,
      reason: "logout",
      reasonCode: SessionRevokeReason.LOGOUT,
      tokensExpireAt: timestampFromDate(new Date(Date.now() + 15 * 60_000)),
    });
    const { refusal: error, lastAcceptedStartMs } = await refusedWithin(performance.now(), async () => {
      const refused = await refusal(person.token).catch(() => undefined);
      return refused?.code === Code.Unauthenticated ? refused : undefined;
    });
    expect(lastAcceptedStartMs).toBeLessThan(1_000);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SESSION_REVOKED");
    // The same user's other session is untouched.
    await h.client.getMe({}, bearerOptions(otherSession.token));
  });

  it("relearns recent revocations when an instance starts, and forgets ones whose tokens have expired", async () => {
    const person = await h.signUp();
    await h.publisher.publish("auth.session.revoked", {
      userId: person.userId,
      sessionId: person.claims.sid,
      reasonCode: SessionRevokeReason.USER_REVOKED,
      tokensExpireAt: timestampFromDate(new Date(Date.now() + 15 * 60_000)),
    });
    const stale = randomUUID();
    await h.publisher.publish("auth.session.revoked", {
      userId: person.userId,
      sessionId: stale,
      tokensExpireAt: timestampFromDate(new Date(Date.now() - 1_000)),
    });
    await waitFor(() => h.user.handle.revocations!.isRevoked(person.claims.sid));

    const fresh = await h.startInstance();
    await fresh.handle.revocations!.ready;
    expect(fresh.handle.revocations!.isRevoked(person.claims.sid)).toBe(true);
    expect(fresh.handle.revocations!.isRevoked(stale)).toBe(false);
    const error = await fresh.client.getMe({}, person.as).catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.Unauthenticated);
    await fresh.close();
  });
});

describe("UserService authentication without NATS", () => {
  let tokens: TokenIssuer;
  let database: TestDatabase;
  let user: RunningService<UserServiceHandle>;

  beforeAll(async () => {
    [tokens, database] = await Promise.all([startTokenIssuer(), createTestDatabase()]);
    // No NATS_URL: no revocation feed; the token issuer stands in for the auth service's ValidateToken.
    user = await startUser({ USER_DATABASE_URL: database.url, AUTH_JWKS_URL: tokens.jwksUrl });
  });
  afterAll(async () => {
    await user?.close();
    await tokens?.close();
    await database?.drop();
  });

  it("checks every session with the auth service, and refuses a revoked one within a second", async () => {
    const client = connectUserClient(user.baseUrl);
    const person = await tokens.user();
    await client.createUser({ username: freshUsername(), name: "No NATS" }, bearerOptions(person.token));
    expect(tokens.validateTokenCalls()).toBeGreaterThan(0);

    // The contract is about when a call starts: an answer of the auth service is used for a second
    // after it was asked, so every call that starts a second or more after the revocation is refused.
    // How long the refused call then takes to come back depends on the machine, not on the rule.
    tokens.revokeSession(person.claims.sid);
    // An answer of the auth service is used for a second after it was asked: every call that starts a
    // second after the revocation is refused.
    const { refusal: refused, lastAcceptedStartMs } = await refusedWithin(performance.now(), () =>
      client.getMe({}, bearerOptions(person.token)).then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      ),
    );
    expect(lastAcceptedStartMs).toBeLessThan(1_000);
    expect(refused?.code).toBe(Code.Unauthenticated);
    expect(refused?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SESSION_REVOKED");
  });
});
