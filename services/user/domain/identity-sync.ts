import type { Clock } from "../../shared/clock.js";
import type { IdentifierType } from "../../shared/identifiers.js";
import type { Logger } from "../../shared/logging.js";
import { findUserByEmail, findUserById, findUserByPhone, lockUserIdentity } from "../store/user-store.js";
import { keepVerifiedIdentifier } from "../store/verified-identifier-store.js";
import { afterProfileChange } from "./lifecycle.js";
import { isUserId, type UserProfile } from "./profile.js";
import type { ProfileWriter } from "./profile-writer.js";

export interface VerifiedIdentifierFact {
  userId: string;
  type: IdentifierType;
  /** Normalised by the auth service (E.164 phone, lower-cased email). */
  value: string;
  verifiedAt: Date;
  eventId: string;
}

export interface IdentitySyncDeps {
  clock: Clock;
  writer: ProfileWriter;
  logger: Logger;
}

export type IdentitySync = ReturnType<typeof createIdentitySync>;

/**
 * Applies the identifiers the auth service verified (auth.user.registered, auth.identifier.linked,
 * auth.identifier.replaced) to profiles: the newest of each type replaces the one shown before. The fact is kept whether or not the profile exists yet, so CreateUser sees it later.
 * Idempotent and order-proof: only a fact newer than the one kept for that user and type does
 * anything, so a replay or an older event arriving late leaves the same state.
 */
export function createIdentitySync(deps: IdentitySyncDeps) {
  async function recordVerifiedIdentifier(fact: VerifiedIdentifierFact): Promise<void> {
    if (!isUserId(fact.userId) || !fact.value) {
      deps.logger.warn(
        { userId: fact.userId, eventId: fact.eventId },
        "verified identifier event without a user id or value; ignored",
      );
      return;
    }
    await deps.writer.inTransaction(async (trx, write) => {
      await lockUserIdentity(trx, fact.userId);
      const newer = await keepVerifiedIdentifier(
        trx,
        fact.userId,
        { type: fact.type, value: fact.value, verifiedAt: fact.verifiedAt },
        fact.eventId,
      );
      if (!newer) return;
      const user = await findUserById(trx, fact.userId);
      if (!user) return;
      const now = deps.clock.now();
      // The auth service says the identifier is this user's now: another profile that still shows
      // it is out of date and lets go of it.
      const holder =
        fact.type === "phone" ? await findUserByPhone(trx, fact.value) : await findUserByEmail(trx, fact.value);
      if (holder && holder.id !== user.id) {
        await write(trx, holder, { next: afterProfileChange(withIdentifier(holder, fact.type, null)) }, "", now);
      }
      await write(
        trx,
        user,
        { next: afterProfileChange(withIdentifier(user, fact.type, fact.value)) },
        fact.userId,
        now,
      );
    });
  }

  return { recordVerifiedIdentifier };
}

function withIdentifier(user: UserProfile, type: IdentifierType, value: string | null): UserProfile {
  return type === "phone"
    ? { ...user, phone: value, phoneVerified: value !== null }
    : { ...user, email: value, emailVerified: value !== null };
}
