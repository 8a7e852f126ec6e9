import { describe, expect, it } from "vitest";
import { PermissionDeniedError } from "../../../services/shared/errors/domain-errors.js";
import { barOf, restrictionError, type UserRestriction } from "../../../services/auth/domain/user-restrictions.js";

// The auth service's one rule on account standing: sign-in, refresh and sessions are refused to a
// banned, deleted or currently suspended user, as the user service announced it.

const now = new Date("2026-03-01T12:00:00Z");
const standing = (overrides: Partial<UserRestriction> = {}): UserRestriction => ({
  suspended: false,
  suspendedUntil: null,
  banned: false,
  deleted: false,
  ...overrides,
});

describe("user restrictions", () => {
  it("lets a user with no restriction on record in", () => {
    expect(restrictionError(null, now)).toBeNull();
    expect(restrictionError(standing(), now)).toBeNull();
    expect(barOf(standing(), now)).toBeNull();
  });

  it("refuses a banned user with USER_BANNED", () => {
    const error = restrictionError(standing({ banned: true }), now);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error).toMatchObject({ reason: "USER_BANNED" });
  });

  it("refuses a deleted user with USER_DELETED, the same code as a ban", () => {
    const error = restrictionError(standing({ deleted: true }), now);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error).toMatchObject({
      reason: "USER_DELETED",
      message: "this account has been deleted",
    });
    expect(barOf(standing({ deleted: true }), now)).toBe("deleted");
  });

  it("refuses a user suspended until further notice with USER_SUSPENDED", () => {
    const error = restrictionError(standing({ suspended: true }), now);
    expect(error).toMatchObject({
      reason: "USER_SUSPENDED",
      message: "this account is suspended until further notice",
    });
  });

  it("refuses a suspended user until the end time, and names it", () => {
    const until = new Date("2026-03-08T00:00:00Z");
    const error = restrictionError(standing({ suspended: true, suspendedUntil: until }), now);
    expect(error).toMatchObject({ reason: "USER_SUSPENDED" });
    expect(error?.message).toContain("2026-03-08T00:00:00.000Z");
  });

  it("lets a suspended user in once the end time has come", () => {
    const restriction = standing({ suspended: true, suspendedUntil: now });
    expect(restrictionError(restriction, now)).toBeNull();
    expect(restrictionError(restriction, new Date(now.getTime() - 1))).not.toBeNull();
  });

  it("refuses a banned or deleted user even when a suspension has ended", () => {
    const ended = { suspended: true, suspendedUntil: new Date("2020-01-01T00:00:00Z") };
    expect(restrictionError(standing({ ...ended, banned: true }), now)).toMatchObject({ reason: "USER_BANNED" });
    expect(restrictionError(standing({ ...ended, deleted: true }), now)).toMatchObject({ reason: "USER_DELETED" });
  });

  it("puts a ban or a deletion before a running suspension: they outlast it", () => {
    const running = { suspended: true, suspendedUntil: null };
    expect(barOf(standing({ ...running, banned: true }), now)).toBe("banned");
    expect(barOf(standing({ ...running, deleted: true }), now)).toBe("deleted");
  });
});
