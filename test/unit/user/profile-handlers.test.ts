import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { AgeBracket, Gender, LifecycleState, UserService, UserStatus } from "../../../gen/mintcoin/user/v1/user_pb.js";
import type { Principal } from "../../../services/shared/auth/principal.js";
import { createDirectoryHandlers } from "../../../services/user/handlers/directory-handlers.js";
import { createProfileHandlers } from "../../../services/user/handlers/profile-handlers.js";
import { assertMayEditProfile } from "../../../services/user/domain/account-standing.js";
import { suspend } from "../../../services/user/domain/lifecycle.js";
import type { UserProfile } from "../../../services/user/domain/profile.js";
import type { ProfileService } from "../../../services/user/domain/profile-service.js";
import { createPublicDirectory } from "../../../services/user/domain/public-directory.js";
import { createPublicLookupLimit } from "../../../services/user/domain/public-lookup-limit.js";
import { aPrincipal, inMemoryTransport } from "../support/in-memory-rpc.js";
import { aUser } from "../support/user-profile.js";

// The caller's own profile and the directory, as a client calls them, with the profile service
// replaced by a fake that records what the handlers hand it and answers a fixed record.

const ada = aUser({ phone: "+447911123456", phoneVerified: true, gender: "female", ageBracket: "35_44" });
const calls: { method: string; args: unknown[] }[] = [];
let stored: UserProfile = ada;
const recorded =
  <A extends unknown[], R>(method: string, answer: (...args: A) => R) =>
  (...args: A): R => {
    calls.push({ method, args });
    return answer(...args);
  };
const profiles: ProfileService = {
  create: recorded("create", async () => stored),
  getMe: recorded("getMe", async () => stored),
  updateMe: recorded("updateMe", async (_userId, fields) => {
    assertMayEditProfile(stored);
    return { ...stored, ...fields };
  }),
  updateUsername: recorded("updateUsername", async (_userId, username) => ({ ...stored, username })),
  usernameAvailability: recorded("usernameAvailability", async () => ({
    available: false,
    reason: "reserved" as const,
  })),
  getPublic: recorded("getPublic", async () => stored),
  getPublicByUsername: recorded("getPublicByUsername", async () => stored),
};

// Two look-ups without a sign-in per network: enough for these tests, and the third shows the limit.
const lookupClock = { now: () => new Date("2026-03-01T12:00:00Z") };
const directory = createPublicDirectory({
  profiles,
  limit: createPublicLookupLimit({ clock: lookupClock, maxRequests: 2, windowMs: 60_000, maxNetworks: 100 }),
});

let caller: Principal | undefined;
const client = createClient(
  UserService,
  inMemoryTransport(
    (router) =>
      router.service(UserService, {
        ...createProfileHandlers({ profiles }),
        ...createDirectoryHandlers({
          profiles,
          directory,
        }),
      }),
    { peer: "198.51.100.30", principal: () => caller },
  ),
);

beforeEach(() => {
  calls.length = 0;
  stored = ada;
  caller = aPrincipal({ userId: ada.id, deviceId: "phone-1" });
});

async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

describe("the caller's own profile", () => {
  it("is refused without a signed-in caller, before the profile service is asked", async () => {
    caller = undefined;
    expect((await failureOf(client.getMe({}))).code).toBe(Code.Unauthenticated);
    expect(calls).toEqual([]);
  });

  it("is the signed-in caller's, in the private view", async () => {
    const { user } = await client.getMe({});
    expect(calls).toEqual([{ method: "getMe", args: [ada.id] }]);
    expect(user).toMatchObject({
      id: ada.id,
      username: "ada",
      phone: "+447911123456",
      phoneVerified: true,
      gender: Gender.FEMALE,
      ageBracket: AgeBracket.AGE_BRACKET_35_44,
      status: UserStatus.ACTIVE,
      lifecycleState: LifecycleState.ACTIVE,
      version: 1n,
    });
    expect(timestampDate(user!.createdAt!)).toEqual(ada.createdAt);
    expect(user?.suspendedUntil).toBeUndefined();
  });

  it("is created for the caller the token names, from the connection's IP, with empty optional fields as not given", async () => {
    await client.createUser({ username: "ada", name: "Ada", interests: ["chess"] });
    expect(calls).toEqual([
      {
        method: "create",
        args: [
          { userId: ada.id, deviceId: "phone-1", phone: caller?.phone, email: undefined, ip: "198.51.100.30" },
          {
            username: "ada",
            name: "Ada",
            avatarUrl: null,
            bio: null,
            gender: null,
            ageBracket: null,
            dateOfBirth: null,
            location: null,
            interests: ["chess"],
            referredByCode: null,
            registrationSource: null,
          },
        ],
      },
    ]);
  });

  it("changes only the fields present, and an empty value clears an optional one", async () => {
    await client.updateMe({ name: "Ada L", bio: "", gender: Gender.UNSPECIFIED, interests: { values: [] } });
    expect(calls).toEqual([
      { method: "updateMe", args: [ada.id, { name: "Ada L", bio: null, gender: null, interests: [] }] },
    ]);
  });

  it("cannot be changed by a suspended user: FAILED_PRECONDITION with ACCOUNT_SUSPENDED", async () => {
    stored = suspend(ada, "spam", null, new Date("2026-03-01T12:00:00Z"));
    const error = await failureOf(client.updateMe({ name: "Ada L" }));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("ACCOUNT_SUSPENDED");
  });

  it("takes a new username that the .proto rules accept, and refuses a malformed one before asking", async () => {
    expect((await client.updateUsername({ username: "ada.l" })).user?.username).toBe("ada.l");
    expect((await failureOf(client.updateUsername({ username: "a l" }))).code).toBe(Code.InvalidArgument);
    expect(calls.map((call) => call.method)).toEqual(["updateUsername"]);
  });
});

describe("the directory", () => {
  it("answers whether a username is free for the caller", async () => {
    expect(await client.checkUsernameAvailability({ username: "admin" })).toMatchObject({
      available: false,
      reason: "reserved",
    });
    expect(calls).toEqual([{ method: "usernameAvailability", args: [ada.id, "admin"] }]);
  });

  it("shows another user's public view only, without contact details", async () => {
    const { user } = await client.getUser({ userId: ada.id });
    expect(user).toMatchObject({ id: ada.id, username: "ada" });
    expect(user && "phone" in user).toBe(false);
  });

  it("shows public views without a sign-in too, limited per client network", async () => {
    caller = undefined;
    expect((await client.getUserByUsername({ username: "ada" })).user).toMatchObject({ id: ada.id });
    expect((await client.getUser({ userId: ada.id })).user).toMatchObject({ id: ada.id });
    expect((await failureOf(client.getUserByUsername({ username: "ada" }))).code).toBe(Code.ResourceExhausted);
    expect(calls.map((call) => call.method)).toEqual(["getPublicByUsername", "getPublic"]);
  });

  it("does not count a signed-in caller's look-ups", async () => {
    for (let i = 0; i < 3; i++) await client.getUser({ userId: ada.id });
    expect(calls).toHaveLength(3);
  });
});
