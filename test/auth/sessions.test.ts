import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionRevokeReason } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { bearer, grpc } from "../fixtures/grpc-clients.js";
import { manualClock } from "../fixtures/manual-clock.js";
import { connectAuthClient, startAuth } from "../fixtures/services.js";
import { waitFor } from "../support/index.js";
import { callHeaders, signIn, startAuthHarness, uniqueEmail, type AuthHarness } from "./auth-harness.js";

// The authenticated session RPCs and ValidateToken, behind the shared authentication interceptor
// wired with the auth service's own keys and a database revocation check.

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}

describe("sessions: Logout, RevokeSession, RevokeAllSessions, ListSessions, ValidateToken", () => {
  let h: AuthHarness;
  const as = (accessToken: string) => ({ headers: callHeaders({ accessToken }) });

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("refuses authenticated RPCs without a valid bearer token, and serves public ones without", async () => {
    expect((await failure(h.client.listSessions({}))).code).toBe(Code.Unauthenticated);
    expect((await failure(h.client.listSessions({}, as("not.a.jwt")))).code).toBe(Code.Unauthenticated);
    expect((await failure(h.client.revokeAllSessions({ keepCurrent: true }))).code).toBe(Code.Unauthenticated);
    await expect(h.client.getJwks({})).resolves.toBeDefined();
    await expect(h.client.validateToken({ accessToken: "x" })).resolves.toMatchObject({ valid: false });
  });

  it("lists the caller's active sessions, most recently used first, marking the current one", async () => {
    const email = uniqueEmail();
    const phone = await signIn(h, email, {
      deviceId: "phone",
      deviceName: "Phone",
      ip: "198.51.100.1",
      userAgent: "MintCoin-Android/1.0",
    });
    h.clock.advance(1_000);
    const laptop = await signIn(h, email, { deviceId: "laptop", deviceName: "Laptop", ip: "198.51.100.2" });
    await signIn(h, uniqueEmail()); // someone else's

    const { sessions } = await h.client.listSessions({}, as(phone.tokens!.accessToken));
    expect(sessions.map((s) => s.id)).toEqual([laptop.sessionId, phone.sessionId]);
    expect(sessions.map((s) => s.current)).toEqual([false, true]);
    expect(sessions[1]).toMatchObject({
      deviceId: "phone",
      deviceName: "Phone",
      ipAddress: "198.51.100.1",
      userAgent: "MintCoin-Android/1.0",
    });
    expect(Number(sessions[1]!.expiresAt!.seconds) - Number(sessions[1]!.createdAt!.seconds)).toBe(7 * 86_400);
    expect(sessions[1]!.lastUsedAt).toEqual(sessions[1]!.createdAt);

    const grpcResponse = await h.grpc.ListSessions({}, bearer(laptop.tokens!.accessToken));
    expect((grpcResponse.sessions as Array<{ id: string; current: boolean }>).find((s) => s.current)!.id).toBe(
      laptop.sessionId,
    );
  });

  it("logs out the calling session: its access and refresh tokens stop working at once, and it is announced", async () => {
    const login = await signIn(h, uniqueEmail(), { ip: "198.51.100.3" });
    await h.client.logout({}, { headers: callHeaders({ accessToken: login.tokens!.accessToken, ip: "198.51.100.3" }) });
    const refused = await failure(h.client.listSessions({}, as(login.tokens!.accessToken)));
    expect(refused.code).toBe(Code.Unauthenticated);
    expect(
      (await failure(h.client.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "device-1" }))).code,
    ).toBe(Code.Unauthenticated);
    const logout = await waitFor(() => h.events.decoded("auth.logout").find((e) => e.sessionId === login.sessionId));
    expect(logout).toMatchObject({ userId: login.userId, deviceId: "device-1", ipAddress: "198.51.100.3" });
    const revoked = await waitFor(() =>
      h.events.decoded("auth.session.revoked").find((e) => e.sessionId === login.sessionId),
    );
    expect(revoked).toMatchObject({
      reason: "logout",
      reasonCode: SessionRevokeReason.LOGOUT,
      revokedByUserId: login.userId,
    });
  });

  it("logs out another session of the caller idempotently, and answers NOT_FOUND for sessions that are not the caller's", async () => {
    const email = uniqueEmail();
    const a = await signIn(h, email, { deviceId: "a" });
    const b = await signIn(h, email, { deviceId: "b" });
    const stranger = await signIn(h, uniqueEmail());
    const revokedAt = () =>
      h.auth.handle.runtime.db
        .selectFrom("sessions")
        .select("revoked_at")
        .where("id", "=", b.sessionId)
        .executeTakeFirstOrThrow();
    await h.client.logout({ sessionId: b.sessionId }, as(a.tokens!.accessToken));
    const first = await revokedAt();
    h.clock.advance(1_000);
    await h.client.logout({ sessionId: b.sessionId }, as(a.tokens!.accessToken));
    expect(await revokedAt()).toEqual(first);
    expect((await failure(h.client.logout({ sessionId: stranger.sessionId }, as(a.tokens!.accessToken)))).code).toBe(
      Code.NotFound,
    );
    expect((await failure(h.client.logout({ sessionId: crypto.randomUUID() }, as(a.tokens!.accessToken)))).code).toBe(
      Code.NotFound,
    );
    expect((await failure(h.client.logout({ sessionId: "nope" }, as(a.tokens!.accessToken)))).code).toBe(
      Code.InvalidArgument,
    );
    await expect(h.client.listSessions({}, as(stranger.tokens!.accessToken))).resolves.toBeDefined();
  });

  it("revokes one other session (reason user_revoked), and the current one like a logout", async () => {
    const email = uniqueEmail();
    const keeper = await signIn(h, email, { deviceId: "keeper" });
    const lost = await signIn(h, email, { deviceId: "lost" });
    await h.client.revokeSession({ sessionId: lost.sessionId }, as(keeper.tokens!.accessToken));
    await h.client.revokeSession({ sessionId: lost.sessionId }, as(keeper.tokens!.accessToken));
    expect((await failure(h.client.listSessions({}, as(lost.tokens!.accessToken)))).code).toBe(Code.Unauthenticated);
    const event = await waitFor(() =>
      h.events.decoded("auth.session.revoked").find((e) => e.sessionId === lost.sessionId),
    );
    expect(event).toMatchObject({
      reason: "user_revoked",
      reasonCode: SessionRevokeReason.USER_REVOKED,
      deviceId: "lost",
    });

    await h.client.revokeSession({ sessionId: keeper.sessionId }, as(keeper.tokens!.accessToken));
    expect((await failure(h.client.listSessions({}, as(keeper.tokens!.accessToken)))).code).toBe(Code.Unauthenticated);
    await waitFor(() => h.events.decoded("auth.logout").some((e) => e.sessionId === keeper.sessionId));
  });

  it("revokes all other sessions with keep_current, then all of them, counting what it revoked", async () => {
    const email = uniqueEmail();
    const sessions = [];
    for (const device of ["one", "two", "three"]) sessions.push(await signIn(h, email, { deviceId: device }));
    h.clock.advance(15 * 60_000);
    sessions.push(await signIn(h, email, { deviceId: "four" }));
    const [current, ...others] = sessions;

    const kept = await h.client.revokeAllSessions({ keepCurrent: true }, as(current!.tokens!.accessToken));
    expect(kept.revokedCount).toBe(3);
    const { sessions: left } = await h.client.listSessions({}, as(current!.tokens!.accessToken));
    expect(left.map((s) => s.id)).toEqual([current!.sessionId]);
    for (const other of others)
      expect((await failure(h.client.listSessions({}, as(other.tokens!.accessToken)))).code).toBe(Code.Unauthenticated);
    await waitFor(
      () =>
        h.events
          .decoded("auth.session.revoked")
          .filter((e) => e.reason === "revoke_all" && e.userId === current!.userId).length === 3,
    );

    const all = await h.client.revokeAllSessions({ keepCurrent: false }, as(current!.tokens!.accessToken));
    expect(all.revokedCount).toBe(1);
    expect((await failure(h.client.listSessions({}, as(current!.tokens!.accessToken)))).code).toBe(
      Code.Unauthenticated,
    );
  });

  it("validates a token: valid with its facts while the session lives, valid=false after logout or for garbage", async () => {
    const login = await signIn(h, uniqueEmail(), { deviceId: "validated" });
    const answer = await h.client.validateToken({ accessToken: login.tokens!.accessToken });
    expect(answer).toMatchObject({
      valid: true,
      userId: login.userId,
      sessionId: login.sessionId,
      deviceId: "validated",
      roles: ["user"],
    });
    expect(Number(answer.expiresAt!.seconds)).toBeGreaterThan(Date.now() / 1000 + 14 * 60);

    const grpcAnswer = await h.grpc.ValidateToken({ access_token: login.tokens!.accessToken });
    expect(grpcAnswer).toMatchObject({ valid: true, user_id: login.userId });

    await h.client.logout({}, as(login.tokens!.accessToken));
    expect(await h.client.validateToken({ accessToken: login.tokens!.accessToken })).toMatchObject({
      valid: false,
      userId: "",
      sessionId: "",
      roles: [],
    });
    const tampered = `${login.tokens!.accessToken.slice(0, -4)}AAAA`;
    expect((await h.client.validateToken({ accessToken: tampered })).valid).toBe(false);
  });

  it("answers valid=false for an expired token and for a token minted for another audience", async () => {
    // An instance whose clock is an hour behind issues tokens that expired 45 minutes ago.
    const late = await h.startAnother({ clock: manualClock(new Date(Date.now() - 3_600_000)) });
    const lateLogin = await signIn({ client: connectAuthClient(late.baseUrl), capture: h.capture }, uniqueEmail());
    expect((await h.client.validateToken({ accessToken: lateLogin.tokens!.accessToken })).valid).toBe(false);

    const foreign = await startAuth(
      { ...h.env, JWT_AUDIENCE: "someone-else" },
      { clock: h.clock, delivery: h.capture },
    );
    try {
      const foreignLogin = await signIn(
        { client: connectAuthClient(foreign.baseUrl), capture: h.capture },
        uniqueEmail(),
      );
      expect((await h.client.validateToken({ accessToken: foreignLogin.tokens!.accessToken })).valid).toBe(false);
      const error = await h.grpc
        .ListSessions({}, bearer(foreignLogin.tokens!.accessToken))
        .catch((e: grpc.ServiceError) => e);
      expect((error as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      await foreign.close();
    }
  });
});
