import { describe, expect, it } from "vitest";
import { standingOf } from "../../../services/user/domain/account-standing.js";
import { lifecycleStates } from "../../../services/user/domain/profile.js";
import { standingRefusal } from "../../../services/user/domain/standing.js";

// What the user service refuses from its own database while its revocation feed is not current
// (session-admission.ts): every state the account-state rule bars from signing in, and no other.

const now = new Date("2026-03-01T12:00:00Z");
const reasonOf = (error: ReturnType<typeof standingRefusal>) => error?.reason;

describe("the user service's own standing check", () => {
  it.each(lifecycleStates.filter((state) => standingOf(state).maySignIn))(
    "lets a %s user's tokens through",
    (state) => {
      expect(standingRefusal({ lifecycleState: state, suspendedUntil: null }, now)).toBeNull();
    },
  );

  it("refuses a deleted user's tokens, as the auth service refuses their sign-in (USER_DELETED)", () => {
    expect(reasonOf(standingRefusal({ lifecycleState: "deleted", suspendedUntil: null }, now))).toBe("USER_DELETED");
  });

  it("refuses a banned user (USER_BANNED) and a suspended one until the suspension ends (USER_SUSPENDED)", () => {
    expect(reasonOf(standingRefusal({ lifecycleState: "banned", suspendedUntil: null }, now))).toBe("USER_BANNED");
    expect(reasonOf(standingRefusal({ lifecycleState: "suspended", suspendedUntil: null }, now))).toBe(
      "USER_SUSPENDED",
    );
    const later = new Date(now.getTime() + 60_000);
    expect(reasonOf(standingRefusal({ lifecycleState: "suspended", suspendedUntil: later }, now))).toBe(
      "USER_SUSPENDED",
    );
    expect(standingRefusal({ lifecycleState: "suspended", suspendedUntil: now }, now)).toBeNull();
  });

  it("refuses every state that may not sign in", () => {
    for (const state of lifecycleStates.filter((candidate) => !standingOf(candidate).maySignIn)) {
      expect(standingRefusal({ lifecycleState: state, suspendedUntil: null }, now), state).not.toBeNull();
    }
  });
});
