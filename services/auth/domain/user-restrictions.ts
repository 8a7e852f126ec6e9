import { PermissionDeniedError } from "../../shared/errors/domain-errors.js";

/** A user's suspension or ban, as the user service announced it. */
export interface UserRestriction {
  suspended: boolean;
  /** End of the suspension; null while suspended means until lifted. */
  suspendedUntil: Date | null;
  banned: boolean;
}

/** PERMISSION_DENIED for a banned or currently suspended user (sign-in and refresh), else null. */
export function restrictionError(restriction: UserRestriction | null, now: Date): PermissionDeniedError | null {
  if (!restriction) return null;
  if (restriction.banned) return new PermissionDeniedError("this account is banned", "USER_BANNED");
  if (!restriction.suspended) return null;
  if (!restriction.suspendedUntil)
    return new PermissionDeniedError("this account is suspended until further notice", "USER_SUSPENDED");
  if (restriction.suspendedUntil > now) {
    return new PermissionDeniedError(
      `this account is suspended until ${restriction.suspendedUntil.toISOString()}`,
      "USER_SUSPENDED",
    );
  }
  return null;
}
