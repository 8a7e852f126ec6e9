import type { Kysely } from "kysely";
import { insertOutboxRows } from "../../shared/outbox/outbox-store.js";
import { onCommit } from "../../shared/outbox/transact.js";
import { logoutEvent, sessionRevokedEvent } from "../events/session-events.js";
import type { AuthDatabase } from "../store/schema.js";
import { revokeActiveSessions, type RevokedSessionRow, type SessionFilter } from "../store/session-store.js";
import type { RequestOrigin } from "./request-origin.js";
import type { SessionRevokeReasonName } from "./sessions.js";

export type { SessionFilter };

/** Who caused a revocation: the user or admin (null for the system), and their request. */
export interface RevocationActor extends RequestOrigin {
  revokedByUserId: string | null;
}

export type RevokedSession = RevokedSessionRow;

/**
 * What happens once a revocation has committed: this process's revocation list learns it (see
 * revocation-awareness.ts). Awaited before the RPC that revoked answers.
 */
export type RevocationListener = (revoked: readonly RevokedSession[]) => void | Promise<void>;

export type SessionRevoker = ReturnType<typeof createSessionRevoker>;

/** Every revocation path goes through one revoker, so none can forget to tell the listener. */
export function createSessionRevoker(deps: { afterCommit?: RevocationListener } = {}) {
  return {
    /**
     * Revokes the user's active sessions that match `filter` inside the caller's transaction (a
     * Transact's: see revokeAndRecord), and hands the sessions it revoked to the listener after that
     * transaction commits.
     */
    async revokeSessions(
      trx: Kysely<AuthDatabase>,
      now: Date,
      filter: SessionFilter,
      reason: SessionRevokeReasonName,
      actor: RevocationActor,
    ): Promise<RevokedSession[]> {
      const revoked = await revokeAndRecord(trx, now, filter, reason, actor);
      const listener = deps.afterCommit;
      if (listener && revoked.length > 0) onCommit(trx, () => listener(revoked));
      return revoked;
    },
  };
}

/**
 * Revokes the user's active sessions that match `filter` (all of them, some ids, all but one, or
 * those of one device), inside the caller's transaction, and records one auth.session.revoked per
 * session it revoked (plus auth.logout when the reason is "logout"). Sessions already ended are
 * left alone, so calling it twice changes nothing more. Two statements whatever the count.
 *
 * Lock order: this locks session rows. Code that also changes a device (BlockDevice) should lock the
 * device first and the sessions second, as sign-in does.
 */
async function revokeAndRecord(
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
