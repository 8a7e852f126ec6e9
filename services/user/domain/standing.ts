import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { type DomainError, PermissionDeniedError } from "../../shared/errors/domain-errors.js";
import type { UserDatabase } from "../store/schema.js";
import { findStanding, type UserStanding } from "../store/standing-store.js";
import { standingOf } from "./account-standing.js";

/**
 * The user service's own reason to refuse a user's tokens: a state that may not sign in
 * (account-standing.ts: banned, deleted, or a suspension that has not ended). While NATS carries
 * them, these states end a user's sessions through the auth service (which revokes them on
 * user.suspended / user.banned / user.deleted); while it does not, this service still knows what it
 * committed itself (session-admission.ts asks this then). The same answers as the auth service gives
 * at sign-in (PERMISSION_DENIED, USER_SUSPENDED / USER_BANNED / USER_DELETED).
 */
export function standingRefusal(standing: UserStanding | undefined, now: Date): DomainError | null {
  if (!standing || standingOf(standing.lifecycleState).maySignIn) return null;
  const state = standing.lifecycleState;
  if (state !== "suspended") {
    return new PermissionDeniedError(`this account is ${state}`, `USER_${state.toUpperCase()}`);
  }
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
