import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AgeBracket, Gender, KycStatus, LifecycleState, UserStatus } from "../../gen/mintcoin/user/v1/user_pb.js";
import { bearer, grpc } from "../fixtures/grpc-clients.js";
import { bearerOptions, freshUsername, startUserHarness, type UserHarness } from "./harness.js";

// CreateUser: the profile is the token subject's, its contact data comes from the token's verified
// identifiers only, and every rule of user.proto holds.

describe("UserService.CreateUser", () => {
  let h: UserHarness;

  beforeAll(async () => {
    h = await startUserHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  async function connectError(call: Promise<unknown>): Promise<ConnectError> {
    return ConnectError.from(
      await call.then(
        () => new Error("expected the call to fail"),
        (error: unknown) => error,
      ),
    );
  }

  it("creates the profile of the token's subject with phone and email from the token, through grpc-js", async () => {
    const issued = await h.tokens.user({ phone: "+447700900001", email: "ada@example.com" });
    const username = freshUsername("ada");
    const response = await h.grpc.CreateUser(
      { username, name: "Ada Lovelace", registration_source: "ios", interests: ["maths"] },
      bearer(issued.token),
    );
    const user = response.user as Record<string, unknown>;
    expect(user.id).toBe(issued.claims.sub);
    expect(user.phone).toBe("+447700900001");
    expect(user.email).toBe("ada@example.com");
    expect(user.phone_verified).toBe(true);
    expect(user.email_verified).toBe(true);
    expect(user.username).toBe(username);
    expect(user.status).toBe("USER_STATUS_ACTIVE");
    expect(user.kyc_status).toBe("KYC_STATUS_NOT_STARTED");
    expect(user.registration_device_id).toBe(issued.claims.did);
    expect(user.registration_ip).toBe("127.0.0.1");
    expect(user.registration_source).toBe("ios");
    expect(user.version).toBe("1");
    // username, name, interests and contact (both verified): 40%.
    expect(user.profile_completion_percent).toBe(40);
    expect(user.lifecycle_state).toBe("LIFECYCLE_STATE_REGISTERED");
    expect(String(user.referral_code)).toMatch(/^[A-Z0-9]{3,6}[2-9A-HJKMNP-Z]{5}$/);
  });

  it("ignores unverified identifiers in the token: no profile holds a phone or email nobody proved", async () => {
    const issued = await h.tokens.issue({ email: "unproven@example.com", email_verified: false });
    const { user } = await h.client.createUser(
      { username: freshUsername(), name: "Unproven" },
      bearerOptions(issued.token),
    );
    expect(user!.email).toBe("");
    expect(user!.emailVerified).toBe(false);
    expect(user!.phone).toBe("");
  });

  it("starts a profile that is at least 60% complete in ACTIVE", async () => {
    const issued = await h.tokens.user();
    const { user } = await h.client.createUser(
      {
        username: freshUsername(),
        name: "Complete Enough",
        avatarUrl: "https://cdn.example.com/a.png",
        bio: "Hello",
        gender: Gender.PREFER_NOT_TO_SAY,
        ageBracket: AgeBracket.AGE_BRACKET_25_34,
      },
      bearerOptions(issued.token),
    );
    expect(user!.profileCompletionPercent).toBe(60);
    expect(user!.lifecycleState).toBe(LifecycleState.ACTIVE);
    expect(user!.status).toBe(UserStatus.ACTIVE);
    expect(user!.kycStatus).toBe(KycStatus.NOT_STARTED);
  });

  it("publishes user.profile.created with the public view and no contact data", async () => {
    const { userId, user } = await h.signUp({ registrationSource: "web" }, { email: "evt@example.com" });
    const [event] = await h.eventsWhere("user.profile.created", (e) => e.userId === userId);
    if (!event) throw new Error("no event");
    expect(event.profile?.username).toBe(user.username);
    expect(event.referralCode).toBe(user.referralCode);
    expect(event.registrationSource).toBe("web");
    expect(event.emailVerified).toBe(true);
    expect(event.version).toBe(1n);
    const raw = h.events.events.find((e) => e.subject === "user.profile.created" && e.msgId === event.eventId)!;
    expect(Buffer.from(raw.payload).includes(Buffer.from("evt@example.com"))).toBe(false);
  });

  it("refuses a second CreateUser for the same subject with ALREADY_EXISTS", async () => {
    const { token } = await h.signUp();
    const error = await connectError(
      h.client.createUser({ username: freshUsername(), name: "Again" }, bearerOptions(token)),
    );
    expect(error.code).toBe(Code.AlreadyExists);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("PROFILE_EXISTS");
  });

  it("refuses a username taken in another case with ALREADY_EXISTS naming username", async () => {
    const { user } = await h.signUp({ username: freshUsername("Case") });
    const issued = await h.tokens.user();
    const error = await connectError(
      h.client.createUser({ username: user.username.toUpperCase(), name: "Copycat" }, bearerOptions(issued.token)),
    );
    expect(error.code).toBe(Code.AlreadyExists);
    expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("username");
  });

  it("refuses reserved usernames, also spelled with dots, underscores or capitals", async () => {
    for (const username of ["admin", "Support", "ad.min", "mintcoin_ng", "official.team"]) {
      const issued = await h.tokens.user();
      const error = await connectError(h.client.createUser({ username, name: "X" }, bearerOptions(issued.token)));
      expect(error.code, username).toBe(Code.InvalidArgument);
      expect(error.findDetails(ErrorInfoSchema)[0]?.reason, username).toBe("USERNAME_RESERVED");
      expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, username).toBe("username");
    }
  });

  it("refuses malformed usernames and profile values with INVALID_ARGUMENT naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ username: "ab" }, "username"],
      [{ username: "has space" }, "username"],
      [{ username: "x".repeat(31) }, "username"],
      [{ name: "" }, "name"],
      [{ avatarUrl: "javascript:alert(1)" }, "avatar_url"],
      [{ avatarUrl: "not a url" }, "avatar_url"],
      [{ dateOfBirth: "2001-02-30" }, "date_of_birth"],
      [{ dateOfBirth: "2999-01-01" }, "date_of_birth"],
      [{ dateOfBirth: "01/02/2001" }, "date_of_birth"],
      [{ interests: Array.from({ length: 21 }, (_, i) => `i${i}`) }, "interests"],
      [{ interests: ["same", "same"] }, "interests"],
      [{ interests: [" "] }, "interests"],
      [{ gender: 42 }, "gender"],
      [{ bio: "b".repeat(501) }, "bio"],
    ];
    for (const [patch, field] of cases) {
      const issued = await h.tokens.user();
      const request = { username: freshUsername(), name: "Valid", ...patch };
      const error = await connectError(h.client.createUser(request, bearerOptions(issued.token)));
      expect(error.code, JSON.stringify(patch)).toBe(Code.InvalidArgument);
      expect(error.rawMessage, JSON.stringify(patch)).toContain(field);
    }
  });

  it("resolves referred_by_code (any case) to the referring user", async () => {
    const referrer = await h.signUp();
    const { user } = await h.signUp({ referredByCode: ` ${referrer.user.referralCode.toLowerCase()} ` });
    expect(user.referredByUserId).toBe(referrer.userId);
    expect(user.referredByCode).toBe(referrer.user.referralCode);
    await expect
      .poll(() => h.events.decoded("user.profile.created").find((e) => e.userId === user.id)?.referredByUserId)
      .toBe(referrer.userId);
  });

  it("refuses an unknown referral code with INVALID_ARGUMENT naming referred_by_code", async () => {
    const issued = await h.tokens.user();
    const error = await connectError(
      h.client.createUser(
        { username: freshUsername(), name: "X", referredByCode: "NOSUCHCODE9" },
        bearerOptions(issued.token),
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("referred_by_code");
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("REFERRAL_CODE_UNKNOWN");
  });

  it("refuses self-referral: a code of a profile holding the caller's own verified email", async () => {
    const referrer = await h.signUp({}, { email: "twice@example.com" });
    // Same person, second account would need the same verified email: the auth service never
    // allows that, so the user service refuses the code before the unique email would.
    const issued = await h.tokens.user({ email: "twice@example.com" });
    const error = await connectError(
      h.client.createUser(
        { username: freshUsername(), name: "Me Again", referredByCode: referrer.user.referralCode },
        bearerOptions(issued.token),
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SELF_REFERRAL");
  });

  it("answers GetMe with NOT_FOUND before CreateUser and with the private view after", async () => {
    const issued = await h.tokens.user({ email: "me@example.com" });
    const before = await connectError(h.client.getMe({}, bearerOptions(issued.token)));
    expect(before.code).toBe(Code.NotFound);
    await h.client.createUser({ username: freshUsername(), name: "Me" }, bearerOptions(issued.token));
    const { user } = await h.client.getMe({}, bearerOptions(issued.token));
    expect(user!.id).toBe(issued.claims.sub);
    expect(user!.email).toBe("me@example.com");
    const viaGrpc = await h.grpc.GetMe({}, bearer(issued.token));
    expect((viaGrpc.user as Record<string, unknown>).email).toBe("me@example.com");
  });

  it("gives a grpc-js client the same codes", async () => {
    const { token } = await h.signUp();
    const error = (await h.grpc
      .CreateUser({ username: freshUsername(), name: "Again" }, bearer(token))
      .catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.ALREADY_EXISTS);
  });
});
