import type { Kysely } from "kysely";
import type { Caller } from "../events/login-events.js";
import { logoutEvent, sessionRevokedEvent, type SessionRevokeReasonName } from "../events/session-events.js";
import { insertOutboxRows } from "../store/outbox-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { revokeActiveSessions, type RevokedSessionRow, type SessionFilter } from "../store/session-store.js";

export type { SessionFilter, SessionRevokeReasonName };

/** Who caused a revocation: the user or admin (null for the system), and their request. */
export interface RevocationActor extends Caller {
  revokedByUserId: string | null;
}

export type RevokedSession = RevokedSessionRow;

/**
 * Revokes the user's active sessions that match `filter` (all of them, some ids, all but one, or
 * those of one device), inside the caller's transaction, and records one auth.session.revoked per
 * session it revoked (plus auth.logout when the reason is "logout"). Sessions already ended are
 * left alone, so calling it twice changes nothing more. Two statements whatever the count.
 *
 * Lock order: this locks session rows. Code that also changes a device (BlockDevice) should lock the
 * device first and the sessions second, as sign-in does.
 */
export async function revokeSessions(
  trx: Kysely<AuthDatabase>,
  now: Date,
  filter: SessionFilter,
  reason: SessionRevokeReasonName,
  actor: RevocationActor,
): Promise<RevokedSession[]> {
  const revoked = await revokeActiveSessions(trx, filter, reason, now);
  await insertOutboxRows(
    trx,
    revoked.flatMap((session) => {
      const facts = { ...session, ip: actor.ip, userAgent: actor.userAgent };
      const revokedEvent = sessionRevokedEvent(now, {
        ...facts,
        reason,
        revokedByUserId: actor.revokedByUserId,
        tokensExpireAt: session.accessExpiresAt,
      });
      return reason === "logout" ? [logoutEvent(now, facts), revokedEvent] : [revokedEvent];
    }),
  );
  return revoked;
}
