import { PermissionDeniedError } from "../../shared/errors/domain-errors.js";

/**
 * A user's standing as the user service announced it (user.suspended, user.unsuspended,
 * user.banned, user.deleted), kept in `user_restrictions`.
 */
export interface UserRestriction {
  suspended: boolean;
  /** End of the suspension; null while suspended means until lifted. */
  suspendedUntil: Date | null;
  banned: boolean;
  deleted: boolean;
}

/** What keeps a user out now; each maps to its refusal and its session-revocation reason. */
export type Bar = "banned" | "deleted" | "suspended";

/**
 * The auth service's one rule on account standing (docs/product.md, "Account states"): what, if
 * anything, bars the user now from signing in, refreshing and holding sessions.
 *
 * | standing                          | sign in, refresh, hold sessions |
 * | --------------------------------- | ------------------------------- |
 * | banned                            | never again                     |
 * | deleted                           | never again                     |
 * | suspended, end time not yet come  | not until it comes, or a lift   |
 * | anything else (no row: anything)  | yes                             |
 *
 * Sign-in (session-starter.ts) and refresh (refresh-service.ts) ask it before issuing tokens; the
 * moderation reaction asks it after applying an event and revokes every session of a barred user.
 * So a session is live only while its user may hold one, and ValidateToken and both services' token
 * checks, which refuse the tokens of a revoked session, need no rule of their own.
 */
export function barOf(restriction: UserRestriction | null, now: Date): Bar | null {
  if (!restriction) return null;
  if (restriction.banned) return "banned";
  if (restriction.deleted) return "deleted";
  if (restriction.suspended && (restriction.suspendedUntil === null || restriction.suspendedUntil > now)) {
    return "suspended";
  }
  return null;
}

/** PERMISSION_DENIED for a user the rule bars now (sign-in and refresh), else null. */
export function restrictionError(restriction: UserRestriction | null, now: Date): PermissionDeniedError | null {
  switch (barOf(restriction, now)) {
    case "banned":
      return new PermissionDeniedError("this account is banned", "USER_BANNED");
    case "deleted":
      return new PermissionDeniedError("this account has been deleted", "USER_DELETED");
    case "suspended":
      return new PermissionDeniedError(
        restriction?.suspendedUntil
          ? `this account is suspended until ${restriction.suspendedUntil.toISOString()}`
          : "this account is suspended until further notice",
        "USER_SUSPENDED",
      );
    case null:
      return null;
  }
}
