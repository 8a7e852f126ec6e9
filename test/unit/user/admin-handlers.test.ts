import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { LifecycleState, UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";
import type { Principal } from "../../../services/shared/auth/principal.js";
import { createAdminHandlers } from "../../../services/user/handlers/admin-handlers.js";
import { moveByAdmin, suspend } from "../../../services/user/domain/lifecycle.js";
import type { ModerationService } from "../../../services/user/domain/moderation-service.js";
import { aPrincipal, inMemoryTransport } from "../support/in-memory-rpc.js";
import { aUser } from "../support/user-profile.js";

// The administration RPCs, for role "admin" and trusted services (role "service") only, with the
// moderation service replaced by a fake that applies the real lifecycle rules to one record.

const now = new Date("2026-03-01T12:00:00Z");
const target = aUser({ id: "3c9d2a1e-7b6f-4e5d-8c4b-2a1f0e9d8c7b" });
const admin = aPrincipal({ userId: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", roles: ["user", "admin"] });
const calls: { method: string; args: unknown[] }[] = [];
const unexpected = (method: string) => async () => {
  throw new Error(`${method} is not part of this test`);
};
const moderation: ModerationService = {
  getByPhone: unexpected("getByPhone"),
  getByEmail: unexpected("getByEmail"),
  async moveLifecycle(...args) {
    calls.push({ method: "moveLifecycle", args });
    return moveByAdmin(target, args[2], now, args[3]);
  },
  promote: unexpected("promote"),
  async suspendUser(...args) {
    calls.push({ method: "suspendUser", args });
    return suspend(target, args[2], args[3], now);
  },
  unsuspendUser: unexpected("unsuspendUser"),
  banUser: unexpected("banUser"),
};

let caller: Principal | undefined;
const client = createClient(
  UserService,
  inMemoryTransport((router) => router.service(UserService, createAdminHandlers({ moderation })), {
    principal: () => caller,
  }),
);

beforeEach(() => {
  calls.length = 0;
  caller = admin;
});

async function codeOf(call: Promise<unknown>): Promise<Code> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error).code;
  }
  throw new Error("expected the call to fail");
}

describe("administration", () => {
  it("hands SuspendUser's acting admin, user, reason and end time to the domain", async () => {
    const until = new Date("2099-01-01T00:00:00Z");
    const { user } = await client.suspendUser({
      userId: target.id,
      reason: "spam",
      suspendedUntil: timestampFromDate(until),
    });
    expect(calls).toEqual([{ method: "suspendUser", args: [admin.userId, target.id, "spam", until] }]);
    expect(user).toMatchObject({ lifecycleState: LifecycleState.SUSPENDED, suspensionReason: "spam" });
  });

  it("suspends until UnsuspendUser when no end time is given", async () => {
    await client.suspendUser({ userId: target.id, reason: "spam" });
    expect(calls[0]?.args[3]).toBeNull();
  });

  it("refuses an end time in the past by the .proto rules, before the domain is asked", async () => {
    const past = timestampFromDate(new Date("2020-01-01T00:00:00Z"));
    expect(await codeOf(client.suspendUser({ userId: target.id, reason: "spam", suspendedUntil: past }))).toBe(
      Code.InvalidArgument,
    );
    expect(calls).toEqual([]);
  });

  it("moves a user's lifecycle state in the domain's words, and answers a refused move as FAILED_PRECONDITION", async () => {
    const { user } = await client.updateLifecycleState({
      userId: target.id,
      state: LifecycleState.DORMANT,
      reason: "inactive for a year",
    });
    expect(calls[0]?.args.slice(1)).toEqual([target.id, "dormant", "inactive for a year"]);
    expect(user).toMatchObject({ lifecycleState: LifecycleState.DORMANT, lifecycleReason: "inactive for a year" });
    expect(await codeOf(client.updateLifecycleState({ userId: target.id, state: LifecycleState.CREATOR }))).toBe(
      Code.FailedPrecondition,
    );
  });

  it("lets a trusted service act as an admin does", async () => {
    caller = aPrincipal({ userId: "service:billing", roles: ["service"] });
    await client.suspendUser({ userId: target.id, reason: "chargeback" });
    expect(calls[0]?.args[0]).toBe("service:billing");
  });

  it("refuses a signed-in user without the admin or service role, before the domain is asked", async () => {
    caller = aPrincipal({ roles: ["user"] });
    expect(await codeOf(client.suspendUser({ userId: target.id, reason: "spam" }))).toBe(Code.PermissionDenied);
    expect(calls).toEqual([]);
  });

  it("refuses a caller who is not signed in", async () => {
    caller = undefined;
    expect(await codeOf(client.updateLifecycleState({ userId: target.id, state: LifecycleState.DORMANT }))).toBe(
      Code.Unauthenticated,
    );
    expect(calls).toEqual([]);
  });
});
