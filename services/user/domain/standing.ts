import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { type DomainError, PermissionDeniedError } from "../../shared/errors/domain-errors.js";
import type { UserDatabase } from "../store/schema.js";
import { findStanding, type UserStanding } from "../store/standing-store.js";

/**
 * The user service's own reason to refuse a user's tokens: a ban, or a suspension that has not
 * ended. While NATS carries them, suspensions and bans end a user's sessions through the auth
 * service (which revokes them on user.suspended / user.banned); while it does not, this service
 * still knows what it committed itself (session-admission.ts asks this then). The same answers as
 * the auth service gives at sign-in (PERMISSION_DENIED, USER_BANNED / USER_SUSPENDED).
 */
export function standingRefusal(standing: UserStanding | undefined, now: Date): DomainError | null {
  if (standing?.lifecycleState === "banned") return new PermissionDeniedError("this account is banned", "USER_BANNED");
  if (standing?.lifecycleState !== "suspended") return null;
  if (standing.suspendedUntil === null) {
    return new PermissionDeniedError("this account is suspended until further notice", "USER_SUSPENDED");
  }
  if (standing.suspendedUntil <= now) return null;
  return new PermissionDeniedError(
    `this account is suspended until ${standing.suspendedUntil.toISOString()}`,
    "USER_SUSPENDED",
  );
}

/** standingRefusal for a user id, read from the database. */
export function createStandingCheck(deps: { db: Kysely<UserDatabase>; clock: Clock }) {
  return async (userId: string): Promise<DomainError | null> =>
    standingRefusal(await findStanding(deps.db, userId), deps.clock.now());
}
