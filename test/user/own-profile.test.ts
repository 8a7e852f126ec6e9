import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AgeBracket, Gender, LifecycleState } from "../../gen/mintcoin/user/v1/user_pb.js";
import { bearer } from "../fixtures/grpc-clients.js";
import { bearerOptions, freshUsername, startUserHarness, type UserHarness } from "./harness.js";

// UpdateMe, UpdateUsername and CheckUsernameAvailability: partial updates, completion and the
// automatic onboarding moves, events naming exactly the changed fields, username rules.

describe("UserService: the caller's own profile", () => {
  let h: UserHarness;

  beforeAll(async () => {
    h = await startUserHarness();
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

  it("changes only the fields present, clears a field given empty, and names the changed fields in user.profile.updated", async () => {
    const { userId, as } = await h.signUp({ name: "Before" });
    await h.client.updateMe({ bio: "first bio", location: "Lagos, NG" }, as);
    const { user } = await h.client.updateMe({ name: "After", bio: "" }, as);
    expect(user!.name).toBe("After");
    expect(user!.bio).toBe("");
    expect(user!.location).toBe("Lagos, NG");
    expect(user!.version).toBe(3n);

    const events = await h.eventsWhere("user.profile.updated", (e) => e.userId === userId, 2);
    const last = events.find((e) => e.version === 3n)!;
    expect(last.changedFields).toEqual(["name", "bio", "profile_completion_percent"]);
    expect(last.actorUserId).toBe(userId);
    expect(last.profile?.name).toBe("After");
  });

  it("writes nothing, emits nothing and keeps the version when nothing really changed", async () => {
    const { userId, as } = await h.signUp({ name: "Same" });
    const first = await h.client.updateMe({ location: "Paris" }, as);
    const again = await h.client.updateMe({ location: "Paris", name: "Same" }, as);
    const empty = await h.client.updateMe({}, as);
    expect(again.user!.version).toBe(first.user!.version);
    expect(empty.user!.version).toBe(first.user!.version);
    expect(again.user!.updatedAt).toEqual(first.user!.updatedAt);
    // A real change afterwards: once its event is in, any event of the no-ops would be too.
    await h.client.updateMe({ bio: "marker" }, as);
    const events = await h.eventsWhere("user.profile.updated", (e) => e.userId === userId, 2);
    expect(events.map((e) => e.version)).toEqual([2n, 3n]);
  });

  it("recomputes completion and moves REGISTERED to ONBOARDING, then to ACTIVE at 60%", async () => {
    const { as } = await h.signUp();
    const step1 = await h.client.updateMe({ bio: "hi" }, as);
    expect(step1.user!.profileCompletionPercent).toBe(30);
    expect(step1.user!.lifecycleState).toBe(LifecycleState.ONBOARDING);
    const step2 = await h.client.updateMe(
      { gender: Gender.FEMALE, ageBracket: AgeBracket.AGE_BRACKET_18_24, location: "Accra" },
      as,
    );
    expect(step2.user!.profileCompletionPercent).toBe(60);
    expect(step2.user!.lifecycleState).toBe(LifecycleState.ACTIVE);
    const step3 = await h.client.updateMe(
      {
        avatarUrl: "https://img.example.com/me.jpg",
        dateOfBirth: "1999-12-31",
        interests: { values: ["music", "art"] },
      },
      as,
    );
    expect(step3.user!.profileCompletionPercent).toBe(90);
    expect(step3.user!.interests).toEqual(["music", "art"]);
    expect(step3.user!.dateOfBirth).toBe("1999-12-31");
    // Clearing goes back down but an ACTIVE user stays ACTIVE.
    const cleared = await h.client.updateMe({ interests: { values: [] }, gender: Gender.UNSPECIFIED }, as);
    expect(cleared.user!.interests).toEqual([]);
    expect(cleared.user!.gender).toBe(Gender.UNSPECIFIED);
    expect(cleared.user!.profileCompletionPercent).toBe(70);
    expect(cleared.user!.lifecycleState).toBe(LifecycleState.ACTIVE);
  });

  it("counts contact only when both phone and email are verified", async () => {
    const phoneOnly = await h.signUp({}, { phone: "+447700900111" });
    const both = await h.signUp({}, { phone: "+447700900112", email: "both@example.com" });
    expect(phoneOnly.user.profileCompletionPercent).toBe(20);
    expect(both.user.profileCompletionPercent).toBe(30);
  });

  it("validates UpdateMe values and names the field", async () => {
    const { as } = await h.signUp();
    const cases: [Record<string, unknown>, string][] = [
      [{ avatarUrl: "ftp://example.com/a.png" }, "avatar_url"],
      [{ avatarUrl: "not a uri" }, "avatar_url"],
      [{ dateOfBirth: "1899-12-31" }, "date_of_birth"],
      [{ dateOfBirth: "2001-13-01" }, "date_of_birth"],
      [{ name: "" }, "name"],
      [{ interests: { values: ["a", "a"] } }, "interests"],
      [{ ageBracket: 99 }, "age_bracket"],
      [{ location: "l".repeat(101) }, "location"],
    ];
    for (const [patch, field] of cases) {
      const error = await failure(h.client.updateMe(patch, as));
      expect(error.code, JSON.stringify(patch)).toBe(Code.InvalidArgument);
      expect(error.rawMessage, JSON.stringify(patch)).toContain(field);
    }
  });

  it("answers UpdateMe and UpdateUsername with NOT_FOUND when the caller has no profile", async () => {
    const issued = await h.tokens.user();
    expect((await failure(h.client.updateMe({ name: "x" }, bearerOptions(issued.token)))).code).toBe(Code.NotFound);
    expect(
      (await failure(h.client.updateUsername({ username: freshUsername() }, bearerOptions(issued.token)))).code,
    ).toBe(Code.NotFound);
  });

  it("changes the username, keeps the referral code, and emits changed_fields [username]", async () => {
    const { userId, user, as } = await h.signUp();
    const next = freshUsername("Renamed");
    const { user: renamed } = await h.client.updateUsername({ username: next }, as);
    expect(renamed!.username).toBe(next);
    expect(renamed!.referralCode).toBe(user.referralCode);
    const [event] = await h.eventsWhere(
      "user.profile.updated",
      (e) => e.userId === userId && e.changedFields.includes("username"),
    );
    expect(event!.changedFields).toEqual(["username"]);
    // The new name is found whatever its case; the old one is free again.
    const found = await h.client.getUserByUsername({ username: next.toLowerCase() }, as);
    expect(found.user!.id).toBe(userId);
    const check = await h.client.checkUsernameAvailability({ username: user.username }, as);
    expect(check.available).toBe(true);
  });

  it("treats setting the current username again as a no-op, and allows changing only its case", async () => {
    const { user, as } = await h.signUp({ username: freshUsername("lower") });
    const same = await h.client.updateUsername({ username: user.username }, as);
    expect(same.user!.version).toBe(user.version);
    const recased = await h.client.updateUsername({ username: user.username.toUpperCase() }, as);
    expect(recased.user!.username).toBe(user.username.toUpperCase());
    expect(recased.user!.version).toBe(user.version + 1n);
  });

  it("refuses a username another user holds in any case (ALREADY_EXISTS) and reserved ones (INVALID_ARGUMENT)", async () => {
    const holder = await h.signUp({ username: freshUsername("holder") });
    const { as } = await h.signUp();
    const taken = await failure(h.client.updateUsername({ username: holder.user.username.toUpperCase() }, as));
    expect(taken.code).toBe(Code.AlreadyExists);
    expect(taken.findDetails(ErrorInfoSchema)[0]?.reason).toBe("USERNAME_TAKEN");
    const reserved = await failure(h.client.updateUsername({ username: "Root" }, as));
    expect(reserved.code).toBe(Code.InvalidArgument);
  });

  it("answers CheckUsernameAvailability with a reason instead of an error", async () => {
    const holder = await h.signUp({ username: freshUsername("Taken") });
    const { as } = await h.signUp();
    const ask = async (username: string) => h.client.checkUsernameAvailability({ username }, as);
    expect(await ask(holder.user.username.toLowerCase())).toMatchObject({ available: false, reason: "taken" });
    expect(await ask("admin")).toMatchObject({ available: false, reason: "reserved" });
    expect(await ask("no spaces allowed")).toMatchObject({ available: false, reason: "invalid" });
    expect(await ask("ab")).toMatchObject({ available: false, reason: "invalid" });
    expect(await ask(freshUsername("free"))).toMatchObject({ available: true, reason: "" });
    // The caller's own name is available to the caller (UpdateUsername would accept it).
    expect(await h.client.checkUsernameAvailability({ username: holder.user.username }, holder.as)).toMatchObject({
      available: true,
    });
    const viaGrpc = await h.grpc.CheckUsernameAvailability({ username: "support" }, bearer(holder.token));
    expect(viaGrpc).toMatchObject({ available: false, reason: "reserved" });
  });

  it("keeps updated_at and version bookkeeping in GetMe consistent with the last change", async () => {
    const { as } = await h.signUp();
    const { user: updated } = await h.client.updateMe({ bio: "x" }, as);
    const { user: read } = await h.client.getMe({}, as);
    expect(read!.version).toBe(updated!.version);
    expect(read!.updatedAt).toEqual(updated!.updatedAt);
  });

  it("refuses a username change that would be INVALID before touching the database", async () => {
    const { as } = await h.signUp();
    const error = await failure(h.client.updateUsername({ username: "bad name" }, as));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("username");
  });
});
