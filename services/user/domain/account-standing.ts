import { FailedPreconditionError, NotFoundError } from "../../shared/errors/domain-errors.js";
import type { LifecycleState, UserProfile, UserStatus } from "./profile.js";

// What each lifecycle state allows, in one table: the user service's half of the account-state
// rule (docs/product.md, "Account states"). The auth service keeps the other half, sign-in,
// refresh and sessions, in its own domain (user-restrictions.ts), from the events the user service
// emits when a user enters a state that may not sign in: user.suspended, user.banned, user.deleted.

export interface AccountStanding {
  /** The UserStatus the state shows. */
  status: UserStatus;
  /**
   * Whether the person may sign in, refresh and keep sessions, so that their access tokens are
   * accepted. Enforced by the auth service once the state's event reaches it: it revokes every
   * session, and both services refuse a revoked session's tokens.
   */
  maySignIn: boolean;
  /** Whether the owner's own-profile RPCs (GetMe, UpdateMe, UpdateUsername) find the profile. */
  ownProfileFound: boolean;
  /** Whether the owner may change the profile (UpdateMe, UpdateUsername). */
  mayEditProfile: boolean;
  /** Whether others see the public view (GetUser, GetUserByUsername) and may use its referral code. */
  publiclyVisible: boolean;
}

const inGoodStanding: AccountStanding = {
  status: "active",
  maySignIn: true,
  ownProfileFound: true,
  mayEditProfile: true,
  publiclyVisible: true,
};

const standings: Record<LifecycleState, AccountStanding> = {
  registered: inGoodStanding,
  onboarding: inGoodStanding,
  active: inGoodStanding,
  creator: inGoodStanding,
  // A request from a dormant user wakes it (lifecycle.ts): it is not barred from anything.
  dormant: inGoodStanding,
  // Until the suspension ends (by UnsuspendUser or its end time); the owner still sees why.
  suspended: {
    status: "suspended",
    maySignIn: false,
    ownProfileFound: true,
    mayEditProfile: false,
    publiclyVisible: true,
  },
  banned: { status: "banned", maySignIn: false, ownProfileFound: true, mayEditProfile: false, publiclyVisible: false },
  // Kept for audit only: gone for its owner and for everyone else; the admin look-ups still find it.
  deleted: {
    status: "deleted",
    maySignIn: false,
    ownProfileFound: false,
    mayEditProfile: false,
    publiclyVisible: false,
  },
};

export function standingOf(state: LifecycleState): AccountStanding {
  return standings[state];
}

/** The owner's own profile, or NOT_FOUND when its account was deleted (GetMe and the owner's writes). */
export function assertOwnProfileFound(user: UserProfile): void {
  if (!standingOf(user.lifecycleState).ownProfileFound) {
    throw new NotFoundError("this account has been deleted", "PROFILE_DELETED");
  }
}

/** Refuses changes a user cannot make to their own profile in its state. */
export function assertMayEditProfile(user: UserProfile): void {
  assertOwnProfileFound(user);
  if (!standingOf(user.lifecycleState).mayEditProfile) {
    throw new FailedPreconditionError(
      `the account is ${user.status}: the profile cannot be changed`,
      `ACCOUNT_${user.status.toUpperCase()}`,
    );
  }
}

/** Whether anyone but the owner and administrators may see the user (public views, referrals). */
export function isPubliclyVisible(user: { lifecycleState: LifecycleState }): boolean {
  return standingOf(user.lifecycleState).publiclyVisible;
}
