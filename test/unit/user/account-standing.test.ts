import { describe, expect, it } from "vitest";
import { barOf, type UserRestriction } from "../../../services/auth/domain/user-restrictions.js";
import { FailedPreconditionError, NotFoundError } from "../../../services/shared/errors/domain-errors.js";
import {
  assertMayEditProfile,
  assertOwnProfileFound,
  isPubliclyVisible,
  standingOf,
} from "../../../services/user/domain/account-standing.js";
import { statusOf } from "../../../services/user/domain/lifecycle.js";
import { type LifecycleState, lifecycleStates } from "../../../services/user/domain/profile.js";
import { aUser } from "../support/user-profile.js";

// What each lifecycle state allows (docs/product.md, "Account states"), and that the auth service's
// half of the rule, fed by the events a move into the state emits, agrees on who may sign in.

const now = new Date("2026-03-01T12:00:00Z");
const inState = (lifecycleState: LifecycleState) => aUser({ lifecycleState, status: statusOf(lifecycleState) });
const named = (...states: LifecycleState[]): [string, LifecycleState][] =>
  states.map((state) => [state.toUpperCase(), state]);

/** The table of docs/product.md, "Account states", one row per state. */
const documented: Record<
  LifecycleState,
  { maySignIn: boolean; ownProfileFound: boolean; mayEditProfile: boolean; publiclyVisible: boolean }
> = {
  registered: { maySignIn: true, ownProfileFound: true, mayEditProfile: true, publiclyVisible: true },
  onboarding: { maySignIn: true, ownProfileFound: true, mayEditProfile: true, publiclyVisible: true },
  active: { maySignIn: true, ownProfileFound: true, mayEditProfile: true, publiclyVisible: true },
  creator: { maySignIn: true, ownProfileFound: true, mayEditProfile: true, publiclyVisible: true },
  dormant: { maySignIn: true, ownProfileFound: true, mayEditProfile: true, publiclyVisible: true },
  suspended: { maySignIn: false, ownProfileFound: true, mayEditProfile: false, publiclyVisible: true },
  banned: { maySignIn: false, ownProfileFound: true, mayEditProfile: false, publiclyVisible: false },
  deleted: { maySignIn: false, ownProfileFound: false, mayEditProfile: false, publiclyVisible: false },
};

/**
 * The restriction the auth service holds once the event of a move into the state has reached it
 * (user.suspended without an end time, user.banned, user.deleted; the other states emit none).
 */
const restrictionAfterEntering = (state: LifecycleState): UserRestriction | null => {
  const none = { suspended: false, suspendedUntil: null, banned: false, deleted: false };
  if (state === "suspended") return { ...none, suspended: true };
  if (state === "banned") return { ...none, banned: true };
  if (state === "deleted") return { ...none, deleted: true };
  return null;
};

function refusalOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a refusal");
}

describe("account standing", () => {
  it.each(named(...lifecycleStates))("%s allows what docs/product.md says", (_, state) => {
    expect(standingOf(state)).toMatchObject(documented[state]);
  });

  it.each(named(...lifecycleStates))("%s: the auth service's rule agrees on sign-in", (_, state) => {
    expect(barOf(restrictionAfterEntering(state), now) === null).toBe(standingOf(state).maySignIn);
  });

  it.each(named("suspended", "banned", "deleted"))("%s shows a status of its own", (_, state) => {
    expect(standingOf(state).status).toBe(state);
  });

  it("shows a deleted profile to nobody but administrators", () => {
    const deleted = inState("deleted");
    const error = refusalOf(() => assertOwnProfileFound(deleted));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ reason: "PROFILE_DELETED" });
    expect(isPubliclyVisible(deleted)).toBe(false);
  });

  it("keeps a banned or suspended profile for its owner", () => {
    expect(() => assertOwnProfileFound(inState("banned"))).not.toThrow();
    expect(() => assertOwnProfileFound(inState("suspended"))).not.toThrow();
  });
});

describe("editing one's own profile", () => {
  it.each(named("registered", "onboarding", "active", "creator", "dormant"))("is allowed in %s", (_, state) => {
    expect(() => assertMayEditProfile(inState(state))).not.toThrow();
  });

  it.each([
    ["SUSPENDED", "ACCOUNT_SUSPENDED", "suspended"],
    ["BANNED", "ACCOUNT_BANNED", "banned"],
  ] as const)("is refused in %s with %s", (_, reason, state) => {
    const error = refusalOf(() => assertMayEditProfile(inState(state)));
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error).toMatchObject({ reason });
  });

  it("finds no profile to edit in DELETED", () => {
    const error = refusalOf(() => assertMayEditProfile(inState("deleted")));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ reason: "PROFILE_DELETED" });
  });
});
