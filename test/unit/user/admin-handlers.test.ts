import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { KycStatus, LifecycleState, UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";
import type { VerifiedCaller } from "../../../services/shared/auth/principal.js";
import { serviceScopes } from "../../../services/shared/auth/scopes.js";
import { recordKyc } from "../../../services/user/domain/kyc.js";
import { moveByAdmin, suspend } from "../../../services/user/domain/lifecycle.js";
import type { ModerationService } from "../../../services/user/domain/moderation-service.js";
import { adminScopes, createAdminHandlers } from "../../../services/user/handlers/admin-handlers.js";
import { createDirectoryHandlers } from "../../../services/user/handlers/directory-handlers.js";
import { createProfileHandlers } from "../../../services/user/handlers/profile-handlers.js";
import { aPrincipal, aServicePrincipal, inMemoryTransport } from "../support/in-memory-rpc.js";
import { aUser } from "../support/user-profile.js";

// The administration RPCs, for people with the role "admin" and service accounts whose token
// carries the RPC's scope, with the moderation service replaced by a fake that applies the real
// lifecycle and KYC rules to one record.

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
  async updateKyc(...args) {
    calls.push({ method: "updateKyc", args });
    return recordKyc(target, args[2], args[3]);
  },
};

let caller: VerifiedCaller | undefined;
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

  it("lets a service account whose token carries the RPC's scope act as an admin does, named by its client id", async () => {
    caller = aServicePrincipal({ clientId: "svc_billing", scopes: ["users.moderate"] });
    await client.suspendUser({ userId: target.id, reason: "chargeback" });
    expect(calls[0]?.args[0]).toBe("svc_billing");
  });

  it("refuses a service account whose token lacks the RPC's scope (INSUFFICIENT_SCOPE), before the domain is asked", async () => {
    caller = aServicePrincipal({ scopes: ["users.read", "users.kyc"] });
    expect(await codeOf(client.suspendUser({ userId: target.id, reason: "spam" }))).toBe(Code.PermissionDenied);
    caller = aServicePrincipal({ scopes: ["users.moderate"] });
    expect(await codeOf(client.getUserByPhone({ phone: "+447911123456" }))).toBe(Code.PermissionDenied);
    expect(calls).toEqual([]);
  });

  it("refuses a signed-in user without the admin role, even one whose token claims the role service", async () => {
    for (const roles of [["user"], ["service"], ["user", "service"]]) {
      caller = aPrincipal({ roles });
      expect(await codeOf(client.suspendUser({ userId: target.id, reason: "spam" }))).toBe(Code.PermissionDenied);
    }
    expect(calls).toEqual([]);
  });

  it("hands a KYC report to the domain, and refuses a tier above 0 without VERIFIED by the .proto rules", async () => {
    caller = aServicePrincipal({ clientId: "svc_kyc", scopes: ["users.kyc"] });
    const { user } = await client.updateKycStatus({
      userId: target.id,
      kycStatus: KycStatus.VERIFIED,
      kycTier: 2,
      reason: "case 42",
    });
    expect(calls).toEqual([{ method: "updateKyc", args: ["svc_kyc", target.id, "verified", 2, "case 42"] }]);
    expect(user).toMatchObject({ kycStatus: KycStatus.VERIFIED, kycTier: 2 });
    for (const kycStatus of [KycStatus.PENDING, KycStatus.REJECTED, KycStatus.EXPIRED]) {
      expect(await codeOf(client.updateKycStatus({ userId: target.id, kycStatus, kycTier: 1 }))).toBe(
        Code.InvalidArgument,
      );
    }
    expect(await codeOf(client.updateKycStatus({ userId: target.id, kycStatus: KycStatus.NOT_STARTED }))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(client.updateKycStatus({ userId: target.id, kycStatus: KycStatus.VERIFIED, kycTier: 3 }))).toBe(
      Code.InvalidArgument,
    );
    expect(calls).toHaveLength(1);
  });

  it("refuses a caller who is not signed in", async () => {
    caller = undefined;
    expect(await codeOf(client.updateLifecycleState({ userId: target.id, state: LifecycleState.DORMANT }))).toBe(
      Code.Unauthenticated,
    );
    expect(calls).toEqual([]);
  });
});

describe("the scope of every administrative RPC", () => {
  const profileRpcs = Object.keys(createProfileHandlers({ profiles: {} as never }));
  const directoryRpcs = Object.keys(createDirectoryHandlers({ profiles: {} as never, directory: {} as never }));

  it("names a known scope for every UserService RPC that is neither a person's own nor a directory lookup", () => {
    const rpcs = UserService.methods.map((method) => method.localName);
    const administrative = rpcs.filter((rpc) => !profileRpcs.includes(rpc) && !directoryRpcs.includes(rpc));
    expect(administrative.length).toBeGreaterThan(0);
    expect(Object.keys(adminScopes).sort()).toEqual(administrative.sort());
    for (const scope of Object.values(adminScopes)) expect(serviceScopes).toContain(scope);
  });

  it("lets an admin person call every administrative RPC and a service account only those of its scopes", async () => {
    const requests: Record<keyof typeof adminScopes, () => Promise<unknown>> = {
      getUserByPhone: () => client.getUserByPhone({ phone: "+447911123456" }),
      getUserByEmail: () => client.getUserByEmail({ email: "ada@example.com" }),
      updateLifecycleState: () => client.updateLifecycleState({ userId: target.id, state: LifecycleState.DORMANT }),
      promoteToCreator: () => client.promoteToCreator({ userId: target.id }),
      suspendUser: () => client.suspendUser({ userId: target.id, reason: "r" }),
      unsuspendUser: () => client.unsuspendUser({ userId: target.id }),
      banUser: () => client.banUser({ userId: target.id, reason: "r" }),
      updateKycStatus: () => client.updateKycStatus({ userId: target.id, kycStatus: KycStatus.PENDING }),
    };
    for (const scope of serviceScopes) {
      caller = aServicePrincipal({ scopes: [scope] });
      for (const [rpc, call] of Object.entries(requests)) {
        const code = await call().then(
          () => "ok",
          (error: unknown) => ConnectError.from(error).code,
        );
        // Past the scope check, the fake domain answers or refuses (never PERMISSION_DENIED).
        const allowed = adminScopes[rpc as keyof typeof adminScopes] === scope;
        expect(code === Code.PermissionDenied, `${rpc} with ${scope}`).toBe(!allowed);
      }
    }
  });
});
