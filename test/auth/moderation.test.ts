import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IdentifierType } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { SessionRevokeReason } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { LifecycleState } from "../../gen/mintcoin/user/v1/user_pb.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { connectEventPublisher, type EventPublisher } from "../fixtures/publish-event.js";
import { connectUserClient, startUser, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, refusedWithin, waitFor, type TestDatabase } from "../support/index.js";
import {
  callHeaders,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verificationToken,
  type AuthHarness,
} from "./auth-harness.js";

// The auth side of moderation: user.suspended, user.unsuspended, user.banned and user.deleted
// (durable consumer) revoke every session of the user at once and make sign-in and refresh refuse
// until the suspension ends (for good after a ban or a deletion); replayed and out-of-order events
// leave the state an in-order run leaves. First with events published the way the user service's
// relay publishes them, then through the user service's own SuspendUser/UnsuspendUser/BanUser and
// UpdateLifecycleState to DELETED.

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;

const admin = uniqueEmail("moderator");
const password = "a perfectly fine password";

describe("moderation reaction in the auth service", () => {
  let h: AuthHarness;
  let publisher: EventPublisher;
  const as = (accessToken: string): CallOptions => ({ headers: callHeaders({ accessToken }) });

  beforeAll(async () => {
    h = await startAuthHarness({ env: { ADMIN_IDENTIFIERS: admin, OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000" } });
    await h.auth.handle.moderationConsumer?.ready;
    publisher = await connectEventPublisher(h.nats.url);
  });
  afterAll(async () => {
    await publisher?.close();
    await h?.close();
  });

  const db = () => h.auth.handle.runtime.db;
  const activeSessionIds = async (userId: string) =>
    (
      await db()
        .selectFrom("sessions")
        .select("id")
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .execute()
    ).map((s) => s.id);
  const restrictionOf = (userId: string) =>
    db().selectFrom("user_restrictions").selectAll().where("user_id", "=", userId).executeTakeFirst();
  /** Waits until the consumer applied the event with this profile version for the user. */
  const applied = (userId: string, version: number) =>
    waitFor(async () => (await restrictionOf(userId))?.event_version === String(version));
  const at = (offsetMs: number) => timestampFromDate(new Date(h.clock.now().getTime() + offsetMs));
  const signInAgain = (email: string, deviceId = "device-1") =>
    verificationToken(h, email).then((token) => h.client.login({ verificationToken: token, deviceId }));
  const passwordLogin = (email: string, secret = password) =>
    h.client.loginWithPassword({
      identifier: email,
      identifierType: IdentifierType.EMAIL,
      password: secret,
      deviceId: "pw",
    });

  it("revokes every session of a suspended user at once and refuses Login, LoginWithPassword and RefreshToken until the suspension ends", async () => {
    const email = uniqueEmail("suspended");
    const phone = await signIn(h, email, { deviceId: "phone" });
    await h.client.setPassword(
      { verificationToken: await verificationToken(h, email), password },
      as(phone.tokens!.accessToken),
    );
    const laptop = await passwordLogin(email);

    const until = new Date(h.clock.now().getTime() + 3_600_000);
    await publisher.publish("user.suspended", {
      userId: phone.userId,
      reason: "spam",
      suspendedAt: at(0),
      suspendedUntil: timestampFromDate(until),
      actorUserId: "00000000-0000-4000-8000-000000000001",
      version: 2n,
    });
    const revoked = await waitFor(() => {
      const events = h.events.decoded("auth.session.revoked").filter((e) => e.userId === phone.userId);
      return events.length === 2 ? events : undefined;
    });
    expect(revoked!.map((e) => e.sessionId).sort()).toEqual([phone.sessionId, laptop.sessionId].sort());
    for (const event of revoked!) {
      expect(event).toMatchObject({
        reason: "user_suspended",
        reasonCode: SessionRevokeReason.USER_SUSPENDED,
        revokedByUserId: "",
      });
    }
    expect(await activeSessionIds(phone.userId)).toEqual([]);

    expect((await h.client.validateToken({ accessToken: phone.tokens!.accessToken })).valid).toBe(false);
    expect((await failure(h.client.listSessions({}, as(laptop.tokens!.accessToken)))).code).toBe(Code.Unauthenticated);
    expect(
      (await failure(h.client.refreshToken({ refreshToken: phone.tokens!.refreshToken, deviceId: "phone" }))).code,
    ).toBe(Code.Unauthenticated);
    const refused = await failure(signInAgain(email));
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(refused.rawMessage).toContain(until.toISOString());
    const byPassword = await failure(passwordLogin(email));
    expect(byPassword.code).toBe(Code.PermissionDenied);
    expect(reasonOf(byPassword)).toBe("USER_SUSPENDED");

    // The end time passing is enough: no further event is needed.
    h.clock.advance(3_600_001);
    await expect(signInAgain(email)).resolves.toMatchObject({ userId: phone.userId });
    await expect(passwordLogin(email)).resolves.toMatchObject({ userId: phone.userId });
  });

  it("lifts a suspension on user.unsuspended, and never lifts a ban", async () => {
    const email = uniqueEmail("banned");
    const { userId } = await signIn(h, email);
    await publisher.publish("user.suspended", { userId, reason: "wait", suspendedAt: at(0), version: 2n });
    await applied(userId, 2);
    expect((await failure(signInAgain(email))).rawMessage).toContain("until further notice");

    await publisher.publish("user.unsuspended", { userId, version: 3n });
    await applied(userId, 3);
    const back = await signInAgain(email);

    await publisher.publish("user.banned", { userId, reason: "fraud", bannedAt: at(0), version: 4n });
    const banned = await waitFor(() =>
      h.events.decoded("auth.session.revoked").find((e) => e.sessionId === back.sessionId),
    );
    expect(banned).toMatchObject({ reason: "user_banned", reasonCode: SessionRevokeReason.USER_BANNED });
    h.clock.advance(15 * 60_000); // out of the code-send window
    const refused = await failure(signInAgain(email));
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(reasonOf(refused)).toBe("USER_BANNED");

    await publisher.publish("user.unsuspended", { userId, version: 5n });
    await applied(userId, 5);
    expect(reasonOf(await failure(signInAgain(email)))).toBe("USER_BANNED");
  });

  it("revokes every session of a deleted user at once and refuses Login, LoginWithPassword and RefreshToken for good", async () => {
    const email = uniqueEmail("deleted");
    const phone = await signIn(h, email, { deviceId: "phone" });
    await h.client.setPassword(
      { verificationToken: await verificationToken(h, email), password },
      as(phone.tokens!.accessToken),
    );
    const laptop = await passwordLogin(email);

    await publisher.publish("user.deleted", {
      userId: phone.userId,
      reason: "asked to leave",
      deletedAt: at(0),
      actorUserId: "00000000-0000-4000-8000-000000000001",
      version: 3n,
    });
    const revoked = await waitFor(() => {
      const events = h.events.decoded("auth.session.revoked").filter((e) => e.userId === phone.userId);
      return events.length === 2 ? events : undefined;
    });
    expect(revoked!.map((e) => e.sessionId).sort()).toEqual([phone.sessionId, laptop.sessionId].sort());
    for (const event of revoked!) {
      expect(event).toMatchObject({
        reason: "user_deleted",
        reasonCode: SessionRevokeReason.USER_DELETED,
        revokedByUserId: "",
      });
    }
    expect(await activeSessionIds(phone.userId)).toEqual([]);
    expect((await h.client.validateToken({ accessToken: laptop.tokens!.accessToken })).valid).toBe(false);
    expect(
      (await failure(h.client.refreshToken({ refreshToken: phone.tokens!.refreshToken, deviceId: "phone" }))).code,
    ).toBe(Code.Unauthenticated);
    // The code flow itself reveals nothing about the account (SendOtp and VerifyOtp succeed); Login refuses.
    const refused = await failure(signInAgain(email));
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(reasonOf(refused)).toBe("USER_DELETED");
    expect(reasonOf(await failure(passwordLogin(email)))).toBe("USER_DELETED");

    // DELETED is terminal: a later event of another kind does not let the user back in.
    await publisher.publish("user.unsuspended", { userId: phone.userId, version: 4n });
    await applied(phone.userId, 4);
    expect(await restrictionOf(phone.userId)).toMatchObject({ deleted: true });
    expect(reasonOf(await failure(passwordLogin(email)))).toBe("USER_DELETED");
  });

  it("leaves the in-order state when a suspension arrives after its own lifting, and again as a re-published copy", async () => {
    const email = uniqueEmail("late");
    const before = await signIn(h, email, { deviceId: "before" });
    const suspension = {
      eventId: crypto.randomUUID(),
      userId: before.userId,
      reason: "late",
      suspendedAt: at(1_000),
      occurredAt: at(1_000),
      version: 4n,
    };
    const lifting = { eventId: crypto.randomUUID(), userId: before.userId, occurredAt: at(2_000), version: 5n };

    await publisher.publish("user.unsuspended", lifting);
    await applied(before.userId, 5);
    h.clock.advance(3_000);
    const after = await signInAgain(email, "after");

    await publisher.publish("user.suspended", suspension);
    // In order, the suspension would have ended the session that existed then, and the lifting
    // would have let the later one be created: the late event does exactly that much.
    await waitFor(() => h.events.decoded("auth.session.revoked").some((e) => e.sessionId === before.sessionId));
    expect(await activeSessionIds(before.userId)).toEqual([after.sessionId]);
    expect(await restrictionOf(before.userId)).toMatchObject({ suspended: false, event_version: "5" });

    // The same events re-published (new stream messages, same event ids) change nothing. A later
    // event on the same subject is handled after them, so once it shows, they were handled.
    await publisher.publishCopy("user.suspended", suspension);
    await publisher.publishCopy("user.unsuspended", lifting);
    const marker = await signIn(h, uniqueEmail("marker"));
    await publisher.publish("user.suspended", { userId: marker.userId, reason: "marker", version: 2n });
    await waitFor(() => h.events.decoded("auth.session.revoked").some((e) => e.sessionId === marker.sessionId));
    expect(await activeSessionIds(before.userId)).toEqual([after.sessionId]);
    await expect(signInAgain(email, "later")).resolves.toMatchObject({ userId: before.userId });
  });

  it("applies the same event twice as once", async () => {
    const email = uniqueEmail("twice");
    const { userId, sessionId } = await signIn(h, email);
    const event = { eventId: crypto.randomUUID(), userId, reason: "twice", version: 7n, occurredAt: at(0) };
    await publisher.publish("user.suspended", event);
    await publisher.publishCopy("user.suspended", event);
    await applied(userId, 7);
    const marker = await signIn(h, uniqueEmail("marker"));
    await publisher.publish("user.suspended", { userId: marker.userId, reason: "marker", version: 2n });
    await waitFor(() => h.events.decoded("auth.session.revoked").some((e) => e.sessionId === marker.sessionId));
    expect(
      h.events
        .decoded("auth.session.revoked")
        .filter((e) => e.userId === userId)
        .map((e) => e.sessionId),
    ).toEqual([sessionId]);
  });

  it("drops an event without a valid user id and goes on with the next", async () => {
    await publisher.publish("user.banned", { userId: "not-a-user-id", reason: "bad", version: 1n });
    const { userId, sessionId } = await signIn(h, uniqueEmail("next"));
    await publisher.publish("user.banned", { userId, reason: "next", version: 2n });
    await waitFor(() => h.events.decoded("auth.session.revoked").some((e) => e.sessionId === sessionId));
    expect(await restrictionOf(userId)).toMatchObject({ banned: true });
  });

  it("leaves no live session when sign-ins race the suspension", async () => {
    const email = uniqueEmail("racer");
    const { userId } = await signIn(h, email, { deviceId: "first" });
    h.clock.advance(15 * 60_000);
    const tokens = [
      await verificationToken(h, email),
      await verificationToken(h, email),
      await verificationToken(h, email),
    ];
    const logins = Promise.allSettled(
      tokens.map((token, i) => h.client.login({ verificationToken: token, deviceId: `racer-${i}` })),
    );
    await publisher.publish("user.suspended", { userId, reason: "race", version: 3n });
    for (const login of await logins) {
      if (login.status === "rejected") expect(ConnectError.from(login.reason).code).toBe(Code.PermissionDenied);
    }
    await applied(userId, 3);
    expect(await activeSessionIds(userId)).toEqual([]);
  });

  describe("through the user service", () => {
    let userDb: TestDatabase;
    let user: RunningService<UserServiceHandle>;

    beforeAll(async () => {
      userDb = await createTestDatabase();
      user = await startUser(
        {
          USER_DATABASE_URL: userDb.url,
          NATS_URL: h.nats.url,
          AUTH_JWKS_URL: `${h.auth.baseUrl}/.well-known/jwks.json`,
        },
        { clock: h.clock },
      );
      await Promise.all([user.handle.revocations?.ready, user.handle.consumers?.ready]);
    });
    afterAll(async () => {
      await user?.close();
      await userDb?.drop();
    });

    it("suspend: the sessions die within a second, sign-in is refused; unsuspend: sign-in works again; ban: refused for good", async () => {
      const users = connectUserClient(user.baseUrl);
      const moderator = await signIn(h, admin, { deviceId: "desk" });
      const email = uniqueEmail("member");
      const member = await signIn(h, email, { deviceId: "phone" });
      await users.createUser({ username: `member_${process.pid}`, name: "Member" }, as(member.tokens!.accessToken));
      await users.getMe({}, as(member.tokens!.accessToken));

      await users.suspendUser({ userId: member.userId, reason: "cooling off" }, as(moderator.tokens!.accessToken));
      const suspension = await refusedWithin(performance.now(), async () => {
        const error = await users.getMe({}, as(member.tokens!.accessToken)).then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        return error?.code === Code.Unauthenticated ? error : undefined;
      });
      expect(suspension.lastAcceptedStartMs).toBeLessThan(1_000);
      expect((await h.client.validateToken({ accessToken: member.tokens!.accessToken })).valid).toBe(false);
      const refused = await failure(signInAgain(email, "phone"));
      expect(refused.code).toBe(Code.PermissionDenied);
      expect(reasonOf(refused)).toBe("USER_SUSPENDED");

      await users.unsuspendUser({ userId: member.userId }, as(moderator.tokens!.accessToken));
      // Wait for the event to arrive rather than retrying sign-in: every try sends a code, and the
      // third send within the window would be rate limited however soon the suspension lifts.
      await waitFor(async () => (await restrictionOf(member.userId))?.suspended === false);
      const back = await signInAgain(email, "phone");
      await expect(users.getMe({}, as(back.tokens!.accessToken))).resolves.toMatchObject({
        user: { id: member.userId },
      });

      await users.banUser({ userId: member.userId, reason: "for good" }, as(moderator.tokens!.accessToken));
      const ban = await refusedWithin(
        performance.now(),
        async () =>
          (
            await users.getMe({}, as(back.tokens!.accessToken)).then(
              () => undefined,
              (e: unknown) => ConnectError.from(e),
            )
          )?.code === Code.Unauthenticated,
      );
      expect(ban.lastAcceptedStartMs).toBeLessThan(1_000);
      h.clock.advance(15 * 60_000);
      expect(reasonOf(await failure(signInAgain(email, "phone")))).toBe("USER_BANNED");
    });

    it("delete: treated as a ban, the sessions die within a second in both services, refresh and sign-in are refused, user.deleted carries the reason", async () => {
      const users = connectUserClient(user.baseUrl);
      const moderator = await signIn(h, admin, { deviceId: "desk" });
      const email = uniqueEmail("leaver");
      const member = await signIn(h, email, { deviceId: "phone" });
      const token = member.tokens!.accessToken;
      await users.createUser({ username: `leaver_${process.pid}`, name: "Leaver" }, as(token));

      await users.updateLifecycleState(
        { userId: member.userId, state: LifecycleState.DELETED, reason: "asked to leave" },
        as(moderator.tokens!.accessToken),
      );
      const deletedAt = performance.now();
      const [byUsers, byAuth] = await Promise.all([
        refusedWithin(deletedAt, async () => (await failure(users.getMe({}, as(token)))).code === Code.Unauthenticated),
        refusedWithin(deletedAt, async () => !(await h.client.validateToken({ accessToken: token })).valid),
      ]);
      expect(byUsers.lastAcceptedStartMs).toBeLessThan(1_000);
      expect(byAuth.lastAcceptedStartMs).toBeLessThan(1_000);
      const [revoked] = h.events.decoded("auth.session.revoked").filter((e) => e.sessionId === member.sessionId);
      expect(revoked).toMatchObject({ reason: "user_deleted", reasonCode: SessionRevokeReason.USER_DELETED });
      const [deleted] = h.events.decoded("user.deleted").filter((e) => e.userId === member.userId);
      expect(deleted).toMatchObject({ reason: "asked to leave", actorUserId: moderator.userId });

      expect(
        (await failure(h.client.refreshToken({ refreshToken: member.tokens!.refreshToken, deviceId: "phone" }))).code,
      ).toBe(Code.Unauthenticated);
      const verified = await verificationToken(h, email);
      const refused = await failure(h.client.login({ verificationToken: verified, deviceId: "phone" }));
      expect(refused.code).toBe(Code.PermissionDenied);
      expect(reasonOf(refused)).toBe("USER_DELETED");
    });
  });
});
