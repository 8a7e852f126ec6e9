import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KycStatus } from "../../gen/mintcoin/user/v1/user_pb.js";
import { bearer } from "../fixtures/grpc-clients.js";
import { bearerOptions, startUserHarness, type UserHarness } from "./harness.js";

// GetUser and GetUserByUsername show the public view only, to anyone: no token is needed (the limit
// on look-ups without one is in public-lookup-limit.test.ts).

describe("UserService: public views", () => {
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

  it("shows id, username, name, avatar, bio, creator flag and KYC status, and nothing else (grpc-js sees only those fields)", async () => {
    const subject = await h.signUp({ name: "Grace" }, { email: "grace@example.com", phone: "+447700900222" });
    await h.client.updateMe({ bio: "Compilers", avatarUrl: "https://img.example.com/g.png" }, subject.as);
    const viewer = await h.signUp();
    const response = await h.grpc.GetUser({ user_id: subject.userId }, bearer(viewer.token));
    expect(Object.keys(response.user as object).sort()).toEqual([
      "avatar_url",
      "bio",
      "id",
      "is_creator",
      "kyc_status",
      "name",
      "username",
    ]);
    expect(response.user).toMatchObject({
      id: subject.userId,
      name: "Grace",
      bio: "Compilers",
      kyc_status: "KYC_STATUS_NOT_STARTED",
    });
    const raw = JSON.stringify(response);
    for (const secret of ["grace@example.com", "+447700900222", subject.user.referralCode])
      expect(raw).not.toContain(secret);
  });

  it("finds a user by username whatever the case", async () => {
    const subject = await h.signUp({ username: `MixedCase_${Date.now() % 100000}` });
    const { user } = await h.client.getUserByUsername({ username: subject.user.username.toLowerCase() }, subject.as);
    expect(user!.id).toBe(subject.userId);
    expect(user!.kycStatus).toBe(KycStatus.NOT_STARTED);
  });

  it("answers NOT_FOUND for an unknown id or username", async () => {
    const viewer = await h.signUp();
    expect((await failure(h.client.getUser({ userId: "00000000-0000-4000-8000-000000000000" }, viewer.as))).code).toBe(
      Code.NotFound,
    );
    expect((await failure(h.client.getUserByUsername({ username: "nobody_here_123" }, viewer.as))).code).toBe(
      Code.NotFound,
    );
  });

  it("hides banned and deleted users from public views (NOT_FOUND) while admins still see them", async () => {
    const admin = await h.tokens.admin();
    const banned = await h.signUp();
    const deleted = await h.signUp();
    await h.client.banUser(
      { userId: banned.userId, reason: "spam" },
      { headers: { authorization: `Bearer ${admin.token}` } },
    );
    await h.client.updateLifecycleState(
      { userId: deleted.userId, state: 8 },
      { headers: { authorization: `Bearer ${admin.token}` } },
    );
    const viewer = await h.signUp();
    for (const target of [banned, deleted]) {
      expect((await failure(h.client.getUser({ userId: target.userId }, viewer.as))).code).toBe(Code.NotFound);
      expect((await failure(h.client.getUserByUsername({ username: target.user.username }, viewer.as))).code).toBe(
        Code.NotFound,
      );
    }
    const phone = banned.claims.phone!;
    const { user } = await h.client.getUserByPhone({ phone }, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(user!.banReason).toBe("spam");
  });

  it("serves both look-ups without a token, to grpc-js and Connect, with the public view only", async () => {
    const subject = await h.signUp({ name: "Linus" }, { email: "linus@example.com", phone: "+447700900333" });
    const secrets = ["linus@example.com", "+447700900333", subject.user.referralCode];
    const publicFields = ["avatar_url", "bio", "id", "is_creator", "kyc_status", "name", "username"];

    const byId = await h.grpc.GetUser({ user_id: subject.userId });
    const byName = await h.grpc.GetUserByUsername({ username: subject.user.username.toUpperCase() });
    for (const response of [byId, byName]) {
      expect(Object.keys(response.user as object).sort()).toEqual(publicFields);
      expect(response.user).toMatchObject({ id: subject.userId, name: "Linus" });
      for (const secret of secrets) expect(JSON.stringify(response)).not.toContain(secret);
    }

    const connect = await h.client.getUser({ userId: subject.userId });
    const connectByName = await h.client.getUserByUsername({ username: subject.user.username });
    expect(connect.user).toEqual(connectByName.user);
    expect(connect.user).toMatchObject({ id: subject.userId, username: subject.user.username, name: "Linus" });
    for (const secret of secrets) expect(JSON.stringify(connect)).not.toContain(secret);

    expect((await failure(h.client.getUser({ userId: "00000000-0000-4000-8000-000000000000" }))).code).toBe(
      Code.NotFound,
    );
  });

  it("answers a call with a bad token as one without (the view is the same); the other RPCs still need a valid one", async () => {
    const subject = await h.signUp();
    const expired = await h.tokens.issue({ sub: subject.userId }, { expiresInSeconds: -60 });
    for (const token of ["junk", expired.token, h.tokens.unsigned({ sub: subject.userId })]) {
      const { user } = await h.client.getUser({ userId: subject.userId }, bearerOptions(token));
      expect(user!.id).toBe(subject.userId);
    }
    const refusal = await failure(h.client.checkUsernameAvailability({ username: "free_name" }));
    expect(refusal.code).toBe(Code.Unauthenticated);
    const badToken = await failure(h.client.getMe({}, bearerOptions(expired.token)));
    expect(badToken.code).toBe(Code.Unauthenticated);
  });

  it("refuses a malformed user id with INVALID_ARGUMENT", async () => {
    const viewer = await h.signUp();
    const error = await failure(h.client.getUser({ userId: "not-a-uuid" }, viewer.as));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("user_id");
  });
});
