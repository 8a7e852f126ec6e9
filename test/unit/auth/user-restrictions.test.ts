import { describe, expect, it } from "vitest";
import { restrictionError } from "../../../services/auth/domain/user-restrictions.js";

// Sign-in and refresh refuse a banned or currently suspended user, as the user service announced it.

const now = new Date("2026-03-01T12:00:00Z");

describe("user restrictions", () => {
  it("lets a user with no restriction on record in", () => {
    expect(restrictionError(null, now)).toBeNull();
    expect(restrictionError({ banned: false, suspended: false, suspendedUntil: null }, now)).toBeNull();
  });

  it("refuses a banned user with USER_BANNED", () => {
    expect(restrictionError({ banned: true, suspended: false, suspendedUntil: null }, now)).toMatchObject({
      reason: "USER_BANNED",
    });
  });

  it("refuses a user suspended until further notice with USER_SUSPENDED", () => {
    const error = restrictionError({ banned: false, suspended: true, suspendedUntil: null }, now);
    expect(error).toMatchObject({
      reason: "USER_SUSPENDED",
      message: "this account is suspended until further notice",
    });
  });

  it("refuses a suspended user until the end time, and names it", () => {
    const until = new Date("2026-03-08T00:00:00Z");
    const error = restrictionError({ banned: false, suspended: true, suspendedUntil: until }, now);
    expect(error).toMatchObject({ reason: "USER_SUSPENDED" });
    expect(error?.message).toContain("2026-03-08T00:00:00.000Z");
  });

  it("lets a suspended user in once the end time has come", () => {
    const restriction = { banned: false, suspended: true, suspendedUntil: now };
    expect(restrictionError(restriction, now)).toBeNull();
    expect(restrictionError(restriction, new Date(now.getTime() - 1))).not.toBeNull();
  });

  it("refuses a banned user even when a suspension has ended", () => {
    const restriction = { banned: true, suspended: true, suspendedUntil: new Date("2020-01-01T00:00:00Z") };
    expect(restrictionError(restriction, now)).toMatchObject({ reason: "USER_BANNED" });
  });
});
