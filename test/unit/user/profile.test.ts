import { describe, expect, it } from "vitest";
import { changedFields, isUserId } from "../../../services/user/domain/profile.js";
import { aUser } from "../support/user-profile.js";

// Which fields user.profile.updated names as changed, and which subjects have a profile at all.

const later = new Date("2026-03-01T12:00:00Z");

describe("changed fields", () => {
  it("names the changed fields as mintcoin.user.v1.User spells them, in record order", () => {
    const before = aUser();
    const after = { ...before, name: "Ada L", bio: "hi", isCreator: true };
    expect(changedFields(before, after)).toEqual(["name", "bio", "is_creator"]);
  });

  it("names nothing when only bookkeeping or activity changed", () => {
    const before = aUser();
    const after = { ...before, version: 7, updatedAt: later, lastActiveAt: later };
    expect(changedFields(before, after)).toEqual([]);
  });

  it("compares times by their value and lists by their items, not by identity", () => {
    const at = "2026-03-01T00:00:00Z";
    const before = aUser({ suspendedUntil: new Date(at), interests: ["chess"] });
    const same = { ...before, suspendedUntil: new Date(at), interests: ["chess"] };
    expect(changedFields(before, same)).toEqual([]);
    const moved = { ...before, suspendedUntil: new Date("2026-03-02T00:00:00Z"), interests: ["chess", "go"] };
    expect(changedFields(before, moved)).toEqual(["interests", "suspended_until"]);
  });

  it("sees a time set or cleared as a change", () => {
    const before = aUser({ bannedAt: null });
    expect(changedFields(before, { ...before, bannedAt: later })).toEqual(["banned_at"]);
    expect(changedFields({ ...before, bannedAt: later }, before)).toEqual(["banned_at"]);
  });
});

describe("user ids", () => {
  it("are the auth service's UUIDs", () => {
    expect(isUserId("0b7e4b8e-5d0c-4f7e-9a59-3f1f0c6f2a11")).toBe(true);
    expect(isUserId("0B7E4B8E-5D0C-4F7E-9A59-3F1F0C6F2A11")).toBe(true);
  });

  it.each(["service:billing", "", "0b7e4b8e5d0c4f7e9a593f1f0c6f2a11", "0b7e4b8e-5d0c-4f7e-9a59-3f1f0c6f2a11x"])(
    "are not %j, which has no profile",
    (subject) => {
      expect(isUserId(subject)).toBe(false);
    },
  );
});
