import { Code, ConnectError } from "@connectrpc/connect";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { SessionRevokeReason } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { hashOpaqueToken } from "../../services/auth/domain/opaque-tokens.js";
import { waitFor } from "../support/index.js";
import { callHeaders, signIn, startAuthHarness, uniqueEmail, type AuthHarness } from "./auth-harness.js";

// RefreshToken: rotation on every use, reuse detection that revokes the session, a grace window in
// which a retried refresh gets the same new pair, exactly one rotation under concurrency, and the
// bindings (device, blocked device, restricted user, expiry).

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;

describe("AuthService.RefreshToken", () => {
  let h: AuthHarness;

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const refresh = (refreshToken: string, deviceId = "device-1", headers: Record<string, string> = {}) =>
    h.client.refreshToken({ refreshToken, deviceId }, { headers });
  const tokensOfSession = (sessionId: string) =>
    h.auth.handle.runtime.db.selectFrom("refresh_tokens").selectAll().where("session_id", "=", sessionId).execute();

  it("rotates: a new refresh token and a new access token for the same session", async () => {
    const login = await signIn(h, uniqueEmail());
    const { tokens } = await refresh(login.tokens!.refreshToken);
    expect(tokens!.refreshToken).toMatch(/^mrt_[A-Za-z0-9_-]{43}$/);
    expect(tokens!.refreshToken).not.toBe(login.tokens!.refreshToken);
    expect(tokens!.accessToken).not.toBe(login.tokens!.accessToken);
    expect(tokens).toMatchObject({ tokenType: "Bearer", expiresIn: 900n });
    const jwks = createRemoteJWKSet(new URL(`${h.auth.baseUrl}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(tokens!.accessToken, jwks, { issuer: "mintcoin-auth", audience: "mintcoin" });
    expect(payload).toMatchObject({ sub: login.userId, sid: login.sessionId, did: "device-1" });
  });

  it("answers a grpc-js client", async () => {
    const login = await signIn(h, uniqueEmail());
    const response = await h.grpc.RefreshToken({ refresh_token: login.tokens!.refreshToken, device_id: "device-1" });
    expect(response).toMatchObject({ tokens: { token_type: "Bearer", expires_in: "900" } });
  });

  it("stores refresh tokens only as hashes, and the grace copy only sealed", async () => {
    const login = await signIn(h, uniqueEmail());
    const { tokens } = await refresh(login.tokens!.refreshToken);
    const rows = await tokensOfSession(login.sessionId);
    expect(rows).toHaveLength(2);
    const dump = Buffer.from(
      JSON.stringify(rows) + rows.map((r) => Buffer.from(r.successor_box ?? []).toString("latin1")).join(""),
    );
    for (const secret of [login.tokens!.refreshToken, tokens!.refreshToken, tokens!.accessToken]) {
      expect(dump.includes(secret)).toBe(false);
      expect(dump.includes(secret.slice(4, 30))).toBe(false);
    }
    expect(rows.map((r) => Buffer.from(r.token_hash).toString("hex")).sort()).toEqual(
      [login.tokens!.refreshToken, tokens!.refreshToken]
        .map((t) => Buffer.from(hashOpaqueToken(t)).toString("hex"))
        .sort(),
    );
  });

  it("gives a retry within the grace window the very same pair, without rotating again", async () => {
    const login = await signIn(h, uniqueEmail());
    const first = await refresh(login.tokens!.refreshToken);
    h.clock.advance(9_000);
    const retry = await refresh(login.tokens!.refreshToken);
    expect(retry.tokens).toEqual(first.tokens);
    expect(await tokensOfSession(login.sessionId)).toHaveLength(2);
    await expect(refresh(first.tokens!.refreshToken)).resolves.toBeDefined();
  });

  it("revokes the session when a rotated token comes back after the grace window, and announces why", async () => {
    const login = await signIn(h, uniqueEmail());
    const rotated = await refresh(login.tokens!.refreshToken);
    h.clock.advance(10_001);
    const reuse = await failure(refresh(login.tokens!.refreshToken, "device-1", callHeaders({ ip: "203.0.113.66" })));
    expect(reuse.code).toBe(Code.Unauthenticated);
    expect(reasonOf(reuse)).toBe("REFRESH_TOKEN_REUSED");
    // The legitimate holder's newer token dies with the session.
    const after = await failure(refresh(rotated.tokens!.refreshToken));
    expect(after.code).toBe(Code.Unauthenticated);
    expect(reasonOf(after)).toBe("SESSION_REVOKED");

    const event = (await waitFor(() =>
      h.events.decoded("auth.session.revoked").find((e) => e.sessionId === login.sessionId),
    ))!;
    expect(event).toMatchObject({
      userId: login.userId,
      deviceId: "device-1",
      reason: "refresh_token_reuse",
      reasonCode: SessionRevokeReason.REFRESH_TOKEN_REUSE,
      revokedByUserId: "",
      ipAddress: "203.0.113.66",
    });
    expect(Number(event.tokensExpireAt!.seconds)).toBeGreaterThan(Math.floor(h.clock.now().getTime() / 1000) - 60);
  });

  it("treats an old token as reuse, even within the grace window, once its successor was itself rotated", async () => {
    const login = await signIn(h, uniqueEmail());
    const second = await refresh(login.tokens!.refreshToken);
    await refresh(second.tokens!.refreshToken);
    const error = await failure(refresh(login.tokens!.refreshToken));
    expect(reasonOf(error)).toBe("REFRESH_TOKEN_REUSED");
  });

  it("rotates exactly once under 20 concurrent refreshes with one token, and all of them get that one pair", async () => {
    const login = await signIn(h, uniqueEmail());
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(login.tokens!.refreshToken)));
    const pairs = new Set(results.map((r) => `${r.tokens!.accessToken} ${r.tokens!.refreshToken}`));
    expect(pairs.size).toBe(1);
    expect(await tokensOfSession(login.sessionId)).toHaveLength(2);
    await waitFor(() => h.events.decoded("auth.session.refreshed").some((e) => e.sessionId === login.sessionId));
    expect(h.events.decoded("auth.session.refreshed").filter((e) => e.sessionId === login.sessionId)).toHaveLength(1);
  });

  it("refuses a token presented for another device, without rotating it", async () => {
    const login = await signIn(h, uniqueEmail());
    const error = await failure(refresh(login.tokens!.refreshToken, "someone-else"));
    expect(error.code).toBe(Code.Unauthenticated);
    await expect(refresh(login.tokens!.refreshToken)).resolves.toBeDefined();
  });

  it("refuses unknown and malformed tokens", async () => {
    expect((await failure(refresh(`mrt_${"A".repeat(43)}`))).code).toBe(Code.Unauthenticated);
    expect((await failure(refresh("not-a-token"))).code).toBe(Code.Unauthenticated);
    expect((await failure(refresh(""))).code).toBe(Code.InvalidArgument);
  });

  it("refuses a blocked device and a suspended user with PERMISSION_DENIED", async () => {
    const db = h.auth.handle.runtime.db;
    const blocked = await signIn(h, uniqueEmail(), { deviceId: "lost-phone" });
    await db.updateTable("devices").set({ blocked: true }).where("user_id", "=", blocked.userId).execute();
    const error = await failure(refresh(blocked.tokens!.refreshToken, "lost-phone"));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(reasonOf(error)).toBe("DEVICE_BLOCKED");

    const suspended = await signIn(h, uniqueEmail());
    await db
      .insertInto("user_restrictions")
      .values({ user_id: suspended.userId, suspended: true, suspended_until: null, updated_at: h.clock.now() })
      .execute();
    const refusal = await failure(refresh(suspended.tokens!.refreshToken));
    expect(refusal.code).toBe(Code.PermissionDenied);
    expect(reasonOf(refusal)).toBe("USER_SUSPENDED");
  });

  it("slides the session's expiry on each refresh, records the caller, and lets a token expire after 7 days unused", async () => {
    const login = await signIn(h, uniqueEmail());
    h.clock.advance(86_400_000);
    const ua = "MintCoin-iOS/3.2 (iPhone)";
    const rotated = await refresh(
      login.tokens!.refreshToken,
      "device-1",
      callHeaders({ ip: "198.51.100.9", userAgent: ua }),
    );
    const event = (await waitFor(() =>
      h.events.decoded("auth.session.refreshed").find((e) => e.sessionId === login.sessionId),
    ))!;
    expect(event).toMatchObject({
      userId: login.userId,
      deviceId: "device-1",
      ipAddress: "198.51.100.9",
      userAgent: ua,
    });
    expect(Number(event.expiresAt!.seconds)).toBe(Math.floor(h.clock.now().getTime() / 1000) + 7 * 86_400);
    const session = await h.auth.handle.runtime.db
      .selectFrom("sessions")
      .selectAll()
      .where("id", "=", login.sessionId)
      .executeTakeFirstOrThrow();
    expect(session).toMatchObject({ ip_address: "198.51.100.9", user_agent: ua });

    h.clock.advance(7 * 86_400_000);
    const expired = await failure(refresh(rotated.tokens!.refreshToken));
    expect(expired.code).toBe(Code.Unauthenticated);
    expect(reasonOf(expired)).toBe("REFRESH_TOKEN_EXPIRED");
  });
});
