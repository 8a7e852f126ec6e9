import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { KycStatus, LifecycleState, UserStatus } from "../../gen/mintcoin/user/v1/user_pb.js";
import { bearer } from "../fixtures/grpc-clients.js";
import { manualClock } from "../fixtures/manual-clock.js";
import { bearerOptions, startUserHarness, type SignedUp, type UserHarness } from "./harness.js";

// The admin RPCs: look-ups by phone and email, the lifecycle state machine exactly as documented
// on LifecycleState in user.proto, creator promotion, suspension (with its end time passing on a
// manual clock), bans, deletions (what a deleted user's own token still reaches here, where no
// auth service revokes its session), KYC reports from a service account, and the events each one
// emits.

const S = LifecycleState;

describe("UserService administration", () => {
  const clock = manualClock(new Date());
  let h: UserHarness;
  let admin: CallOptions;
  let adminId: string;

  beforeAll(async () => {
    h = await startUserHarness({ clock });
    const issued = await h.tokens.admin();
    admin = bearerOptions(issued.token);
    adminId = issued.claims.sub;
  });
  afterAll(async () => {
    await h?.close();
  });

  const failure = async (call: Promise<unknown>) =>
    ConnectError.from(
      await call.then(
        () => new Error("expected the call to fail"),
        (error: unknown) => error,
      ),
    );

  /** A user brought to `state` through the RPCs that lead there. */
  async function userIn(state: LifecycleState): Promise<SignedUp> {
    const person = await h.signUp();
    const move = (to: LifecycleState) => h.client.updateLifecycleState({ userId: person.userId, state: to }, admin);
    if (state === S.REGISTERED) return person;
    if (state === S.ONBOARDING || state === S.ACTIVE || state === S.DORMANT || state === S.DELETED) {
      if (state !== S.DELETED) await move(state === S.ONBOARDING ? S.ONBOARDING : S.ACTIVE);
      if (state === S.DORMANT || state === S.DELETED) await move(state);
    }
    if (state === S.CREATOR) {
      await move(S.ACTIVE);
      await h.client.promoteToCreator({ userId: person.userId }, admin);
    }
    if (state === S.SUSPENDED) await h.client.suspendUser({ userId: person.userId, reason: "test" }, admin);
    if (state === S.BANNED) await h.client.banUser({ userId: person.userId, reason: "test" }, admin);
    // Read as an admin: the person's own read would wake a DORMANT user.
    const { user } = await h.client.getUserByPhone({ phone: person.claims.phone! }, admin);
    expect(user!.lifecycleState).toBe(state);
    return person;
  }

  it("finds full profiles by phone in any common spelling and by email in any case", async () => {
    const person = await h.signUp({}, { phone: "+447911123001", email: "lookup@example.com" });
    for (const phone of ["+44 7911 123001", "+44 (0)7911-123-001", "+447911123001"]) {
      const { user } = await h.client.getUserByPhone({ phone }, admin);
      expect(user!.id, phone).toBe(person.userId);
    }
    const { user } = await h.client.getUserByEmail({ email: "  LookUp@Example.COM " }, admin);
    expect(user!.email).toBe("lookup@example.com");
    expect((await failure(h.client.getUserByEmail({ email: "nobody@example.com" }, admin))).code).toBe(Code.NotFound);
    expect((await failure(h.client.getUserByPhone({ phone: "+447911123999" }, admin))).code).toBe(Code.NotFound);
    const bad = await failure(h.client.getUserByPhone({ phone: "12345" }, admin));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain("phone");
  });

  // Every (from, to) pair of UpdateLifecycleState: allowed ones succeed, the rest are refused.
  const allowed: Record<number, LifecycleState[]> = {
    [S.REGISTERED]: [S.ONBOARDING, S.ACTIVE, S.DELETED],
    [S.ONBOARDING]: [S.ACTIVE, S.DELETED],
    [S.ACTIVE]: [S.DORMANT, S.DELETED],
    [S.CREATOR]: [S.DORMANT, S.DELETED],
    [S.DORMANT]: [S.ACTIVE, S.DELETED],
    [S.SUSPENDED]: [S.DELETED],
    [S.BANNED]: [],
    [S.DELETED]: [],
  };
  const states = [S.REGISTERED, S.ONBOARDING, S.ACTIVE, S.CREATOR, S.DORMANT, S.SUSPENDED, S.BANNED, S.DELETED];

  it("makes exactly the UpdateLifecycleState transitions documented in user.proto", async () => {
    // Each of the 64 pairs has a user of its own, so they run side by side: one after another they are
    // some 200 calls in a row, which a busy machine stretches past the test's time limit.
    const pairs = states.flatMap((from) => states.map((to) => [from, to] as const));
    await Promise.all(
      pairs.map(async ([from, to]) => {
        const person = await userIn(from);
        const call = h.client.updateLifecycleState({ userId: person.userId, state: to, reason: "table" }, admin);
        const label = `${S[from]} -> ${S[to]}`;
        if (from === to || allowed[from]!.includes(to)) {
          const { user } = await call;
          expect(user!.lifecycleState, label).toBe(to);
          const expectedStatus =
            to === S.SUSPENDED
              ? UserStatus.SUSPENDED
              : to === S.BANNED
                ? UserStatus.BANNED
                : to === S.DELETED
                  ? UserStatus.DELETED
                  : UserStatus.ACTIVE;
          expect(user!.status, label).toBe(expectedStatus);
        } else {
          expect((await failure(call)).code, label).toBe(Code.FailedPrecondition);
        }
      }),
    );
  });

  it("treats moving a user to its current state as a no-op without a version bump", async () => {
    const person = await userIn(S.ACTIVE);
    const before = (await h.client.getMe({}, person.as)).user!;
    const { user } = await h.client.updateLifecycleState({ userId: person.userId, state: S.ACTIVE }, admin);
    expect(user!.version).toBe(before.version);
  });

  it("emits user.profile.updated naming lifecycle_state and status, with the admin as actor", async () => {
    const person = await userIn(S.ACTIVE);
    await h.client.updateLifecycleState({ userId: person.userId, state: S.DELETED }, admin);
    const [event] = await h.eventsWhere(
      "user.profile.updated",
      (e) => e.userId === person.userId && e.lifecycleState === S.DELETED,
    );
    expect(event!.changedFields).toEqual(expect.arrayContaining(["lifecycle_state", "status", "deleted_at"]));
    expect(event!.actorUserId).toBe(adminId);
  });

  it("stores UpdateLifecycleState's reason, and emits user.deleted with it for a deletion only", async () => {
    const person = await userIn(S.ACTIVE);
    const dormant = await h.client.updateLifecycleState(
      { userId: person.userId, state: S.DORMANT, reason: "idle for a year" },
      admin,
    );
    expect(dormant.user!.lifecycleReason).toBe("idle for a year");
    const { user } = await h.client.updateLifecycleState(
      { userId: person.userId, state: S.DELETED, reason: "asked to be forgotten" },
      admin,
    );
    expect(user).toMatchObject({
      lifecycleState: S.DELETED,
      status: UserStatus.DELETED,
      lifecycleReason: "asked to be forgotten",
    });
    const [event] = await h.eventsWhere("user.deleted", (e) => e.userId === person.userId);
    expect(event).toMatchObject({ reason: "asked to be forgotten", actorUserId: adminId, version: user!.version });
    expect(event!.deletedAt).toEqual(user!.deletedAt);
    // One stream, published in order: the dormant move, committed first, announced no deletion.
    expect(h.events.decoded("user.deleted").filter((e) => e.userId === person.userId)).toHaveLength(1);
    // Administrators still find a deleted user, with the reason.
    const found = await h.client.getUserByPhone({ phone: person.claims.phone! }, admin);
    expect(found.user).toMatchObject({ id: person.userId, lifecycleReason: "asked to be forgotten" });
  });

  it("answers a deleted user's own-profile calls with NOT_FOUND, hides it from others, and refuses its referral code", async () => {
    const person = await userIn(S.ACTIVE);
    const referralCode = (await h.client.getMe({}, person.as)).user!.referralCode;
    await h.client.updateLifecycleState({ userId: person.userId, state: S.DELETED, reason: "closed" }, admin);
    // No auth service here to revoke the session: the token still verifies, and the profile is gone.
    // One call at a time: started together, a call that fails before the loop reaches it would be a
    // rejection with no handler yet, which fails the run.
    for (const call of [
      () => h.client.getMe({}, person.as),
      () => h.client.updateMe({ bio: "still here" }, person.as),
      () => h.client.updateUsername({ username: "back_again_x1" }, person.as),
    ]) {
      const error = await failure(call());
      expect(error.code).toBe(Code.NotFound);
      expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("PROFILE_DELETED");
    }
    const viewer = await h.signUp();
    expect((await failure(h.client.getUser({ userId: person.userId }, viewer.as))).code).toBe(Code.NotFound);
    expect((await failure(h.signUp({ referredByCode: referralCode }))).code).toBe(Code.InvalidArgument);
  });

  it("promotes ACTIVE and DORMANT users to CREATOR, keeps a creator as is, and refuses other states", async () => {
    const active = await userIn(S.ACTIVE);
    const { user } = await h.client.promoteToCreator({ userId: active.userId }, admin);
    expect(user!.isCreator).toBe(true);
    expect(user!.lifecycleState).toBe(S.CREATOR);
    const [event] = await h.eventsWhere(
      "user.profile.updated",
      (e) => e.userId === active.userId && e.changedFields.includes("is_creator"),
    );
    expect(event!.changedFields).toEqual(["lifecycle_state", "is_creator"]);
    const again = await h.client.promoteToCreator({ userId: active.userId }, admin);
    expect(again.user!.version).toBe(user!.version);

    const dormant = await userIn(S.DORMANT);
    expect((await h.client.promoteToCreator({ userId: dormant.userId }, admin)).user!.lifecycleState).toBe(S.CREATOR);

    for (const state of [S.REGISTERED, S.ONBOARDING, S.SUSPENDED, S.BANNED, S.DELETED]) {
      const person = await userIn(state);
      expect((await failure(h.client.promoteToCreator({ userId: person.userId }, admin))).code, S[state]).toBe(
        Code.FailedPrecondition,
      );
    }
  });

  it("sends a dormant creator back to CREATOR when it makes a request, and a dormant user to ACTIVE", async () => {
    const creator = await userIn(S.CREATOR);
    await h.client.updateLifecycleState({ userId: creator.userId, state: S.DORMANT }, admin);
    expect((await h.client.getMe({}, creator.as)).user!.lifecycleState).toBe(S.CREATOR);
    const plain = await userIn(S.DORMANT);
    expect((await h.client.getMe({}, plain.as)).user!.lifecycleState).toBe(S.ACTIVE);
    // UpdateLifecycleState cannot make a dormant creator a plain ACTIVE user.
    await h.client.updateLifecycleState({ userId: creator.userId, state: S.DORMANT }, admin);
    expect(
      (await failure(h.client.updateLifecycleState({ userId: creator.userId, state: S.ACTIVE }, admin))).code,
    ).toBe(Code.FailedPrecondition);
  });

  it("suspends with reason and end time, emits user.suspended, and refuses the user's profile changes", async () => {
    const person = await userIn(S.ACTIVE);
    const until = new Date(clock.now().getTime() + 3_600_000);
    const { user } = await h.client.suspendUser(
      { userId: person.userId, reason: "spam", suspendedUntil: timestampFromDate(until) },
      admin,
    );
    expect(user!.lifecycleState).toBe(S.SUSPENDED);
    expect(user!.status).toBe(UserStatus.SUSPENDED);
    expect(user!.suspensionReason).toBe("spam");
    const [event] = await h.eventsWhere("user.suspended", (e) => e.userId === person.userId);
    expect(event!.reason).toBe("spam");
    expect(event!.actorUserId).toBe(adminId);
    expect(Number(event!.suspendedUntil!.seconds)).toBe(Math.floor(until.getTime() / 1000));
    expect(event!.version).toBe(user!.version);

    const refused = await failure(h.client.updateMe({ bio: "still here" }, person.as));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect((await failure(h.client.updateUsername({ username: "new_name_x1" }, person.as))).code).toBe(
      Code.FailedPrecondition,
    );
  });

  it("replaces reason and end time when suspending a suspended user, and emits again", async () => {
    const person = await userIn(S.SUSPENDED);
    const first = (await h.client.getUserByPhone({ phone: person.claims.phone! }, admin)).user!;
    await h.client.suspendUser({ userId: person.userId, reason: "worse" }, admin);
    const events = await h.eventsWhere("user.suspended", (e) => e.userId === person.userId, 2);
    expect(events.map((e) => e.reason)).toEqual(["test", "worse"]);
    const after = (await h.client.getUserByPhone({ phone: person.claims.phone! }, admin)).user!;
    expect(after.suspensionReason).toBe("worse");
    expect(after.suspendedAt).toEqual(first.suspendedAt);
  });

  it("refuses a suspension end time in the past", async () => {
    const person = await userIn(S.ACTIVE);
    const error = await failure(
      h.client.suspendUser(
        { userId: person.userId, reason: "x", suspendedUntil: timestampFromDate(new Date(Date.now() - 60_000)) },
        admin,
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("suspended_until");
  });

  it("unsuspends back to CREATOR or ACTIVE with user.unsuspended, and treats a user not suspended as a no-op", async () => {
    const creator = await userIn(S.CREATOR);
    await h.client.suspendUser({ userId: creator.userId, reason: "x" }, admin);
    const { user } = await h.client.unsuspendUser({ userId: creator.userId }, admin);
    expect(user!.lifecycleState).toBe(S.CREATOR);
    expect(user!.suspendedAt).toBeUndefined();
    expect(user!.suspensionReason).toBe("");
    const [event] = await h.eventsWhere("user.unsuspended", (e) => e.userId === creator.userId);
    expect(event!.lifecycleState).toBe(S.CREATOR);
    expect(event!.actorUserId).toBe(adminId);

    const registered = await userIn(S.REGISTERED);
    await h.client.suspendUser({ userId: registered.userId, reason: "x" }, admin);
    expect((await h.client.unsuspendUser({ userId: registered.userId }, admin)).user!.lifecycleState).toBe(S.ACTIVE);

    const active = await userIn(S.ACTIVE);
    const before = (await h.client.getMe({}, active.as)).user!;
    expect((await h.client.unsuspendUser({ userId: active.userId }, admin)).user!.version).toBe(before.version);
  });

  it("ends a suspension by itself once its end time passes, at the next read, with user.unsuspended", async () => {
    const person = await userIn(S.ACTIVE);
    const until = new Date(clock.now().getTime() + 3_600_000);
    await h.client.suspendUser(
      { userId: person.userId, reason: "cool off", suspendedUntil: timestampFromDate(until) },
      admin,
    );
    expect((await h.client.getUserByPhone({ phone: person.claims.phone! }, admin)).user!.lifecycleState).toBe(
      S.SUSPENDED,
    );
    clock.advance(3_600_001);
    // Tokens carry the service's clock: the ones issued an hour ago have expired.
    admin = bearerOptions((await h.tokens.admin({ sub: adminId })).token);
    const personNow = bearerOptions((await h.tokens.issue(person.claims)).token);
    const { user } = await h.client.getUser({ userId: person.userId }, admin).then(() => h.client.getMe({}, personNow));
    expect(user!.lifecycleState).toBe(S.ACTIVE);
    expect(user!.suspendedUntil).toBeUndefined();
    const [event] = await h.eventsWhere("user.unsuspended", (e) => e.userId === person.userId);
    expect(event!.actorUserId).toBe("");
    expect((await h.eventsWhere("user.unsuspended", (e) => e.userId === person.userId)).length).toBe(1);
  });

  it("bans for good with user.banned; banning again is a no-op; a banned user cannot be unsuspended or suspended", async () => {
    const person = await userIn(S.SUSPENDED);
    const { user } = await h.client.banUser({ userId: person.userId, reason: "fraud" }, admin);
    expect(user!.lifecycleState).toBe(S.BANNED);
    expect(user!.banReason).toBe("fraud");
    expect(user!.suspensionReason).toBe("");
    const [event] = await h.eventsWhere("user.banned", (e) => e.userId === person.userId);
    expect(event!.reason).toBe("fraud");
    expect(event!.actorUserId).toBe(adminId);
    expect((await h.client.banUser({ userId: person.userId, reason: "again" }, admin)).user!.version).toBe(
      user!.version,
    );
    expect((await failure(h.client.unsuspendUser({ userId: person.userId }, admin))).code).toBe(
      Code.FailedPrecondition,
    );
    expect((await failure(h.client.suspendUser({ userId: person.userId, reason: "x" }, admin))).code).toBe(
      Code.FailedPrecondition,
    );
    const deleted = await userIn(S.DELETED);
    expect((await failure(h.client.banUser({ userId: deleted.userId, reason: "x" }, admin))).code).toBe(
      Code.FailedPrecondition,
    );
  });

  it("answers NOT_FOUND for admin RPCs on an unknown user, over grpc-js too", async () => {
    const unknown = "00000000-0000-4000-8000-00000000abcd";
    expect((await failure(h.client.banUser({ userId: unknown, reason: "x" }, admin))).code).toBe(Code.NotFound);
    expect((await failure(h.client.promoteToCreator({ userId: unknown }, admin))).code).toBe(Code.NotFound);
    const token = (admin.headers as Record<string, string>).authorization!.slice("Bearer ".length);
    const error = await h.grpc.UnsuspendUser({ user_id: unknown }, bearer(token)).catch((e: { code: number }) => e);
    expect((error as { code: number }).code).toBe(5);
  });

  it("refuses UpdateLifecycleState to UNSPECIFIED with INVALID_ARGUMENT naming state", async () => {
    const person = await userIn(S.ACTIVE);
    const error = await failure(h.client.updateLifecycleState({ userId: person.userId, state: S.UNSPECIFIED }, admin));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("state");
  });

  it("records a KYC provider's reports from a service account with users.kyc: user.kyc.updated with before, after and the client id; a repeat changes nothing", async () => {
    const kyc = bearerOptions(await h.tokens.service({ clientId: "svc_kyc_provider", scopes: ["users.kyc"] }));
    const person = await userIn(S.ACTIVE);
    const report = (kycStatus: KycStatus, kycTier = 0) =>
      h.client.updateKycStatus({ userId: person.userId, kycStatus, kycTier, reason: "case 7" }, kyc);

    const pending = (await report(KycStatus.PENDING)).user!;
    expect(pending).toMatchObject({ kycStatus: KycStatus.PENDING, kycTier: 0 });
    const verified = (await report(KycStatus.VERIFIED, 2)).user!;
    expect(verified).toMatchObject({ kycStatus: KycStatus.VERIFIED, kycTier: 2 });
    expect((await report(KycStatus.VERIFIED, 2)).user!.version).toBe(verified.version);
    const expired = (await report(KycStatus.EXPIRED)).user!;
    expect(expired).toMatchObject({ kycStatus: KycStatus.EXPIRED, kycTier: 0 });

    // The harness's clock stands still, so the three outbox rows share one created_at; the relay still
    // publishes them in the order they were written.
    const events = await h.eventsWhere("user.kyc.updated", (e) => e.userId === person.userId, 3);
    expect(events.map((e) => [e.previousKycStatus, e.previousKycTier, e.kycStatus, e.kycTier])).toEqual([
      [KycStatus.NOT_STARTED, 0, KycStatus.PENDING, 0],
      [KycStatus.PENDING, 0, KycStatus.VERIFIED, 2],
      [KycStatus.VERIFIED, 2, KycStatus.EXPIRED, 0],
    ]);
    expect(new Set(events.map((e) => e.actorUserId))).toEqual(new Set(["svc_kyc_provider"]));
    expect(events.map((e) => e.version)).toEqual([pending.version, verified.version, expired.version]);
    const [updated] = await h.eventsWhere(
      "user.profile.updated",
      (e) => e.userId === person.userId && e.version === verified.version,
    );
    expect(updated!.changedFields).toEqual(["kyc_status", "kyc_tier"]);
    // The public view shows the badge.
    const { user: seen } = await h.client.getUser({ userId: person.userId }, person.as);
    expect(seen!.kycStatus).toBe(KycStatus.EXPIRED);
  });

  it("refuses a KYC report for a deleted user, a tier without VERIFIED, and a token without users.kyc", async () => {
    const deleted = await userIn(S.DELETED);
    const refused = await failure(
      h.client.updateKycStatus({ userId: deleted.userId, kycStatus: KycStatus.VERIFIED, kycTier: 1 }, admin),
    );
    expect(refused.code).toBe(Code.FailedPrecondition);
    const person = await userIn(S.ACTIVE);
    const tierWithoutVerification = await failure(
      h.client.updateKycStatus({ userId: person.userId, kycStatus: KycStatus.REJECTED, kycTier: 1 }, admin),
    );
    expect(tierWithoutVerification.code).toBe(Code.InvalidArgument);
    const moderator = bearerOptions(await h.tokens.service({ scopes: ["users.moderate", "users.read"] }));
    const wrongScope = await failure(
      h.client.updateKycStatus({ userId: person.userId, kycStatus: KycStatus.PENDING }, moderator),
    );
    expect(wrongScope.code).toBe(Code.PermissionDenied);
    // The moderator's own scope works.
    const { user } = await h.client.suspendUser({ userId: person.userId, reason: "fraud" }, moderator);
    expect(user!.lifecycleState).toBe(S.SUSPENDED);
  });
});
