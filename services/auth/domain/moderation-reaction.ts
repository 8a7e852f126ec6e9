import type { Clock } from "../../shared/clock.js";
import type { Logger } from "../../shared/logging.js";
import type { Transact } from "../../shared/outbox/transact.js";
import {
  activeSessionIdsCreatedBy,
  lockRestriction,
  writeRestriction,
  type RestrictionRecord,
} from "../store/restriction-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { holdUserGate } from "../store/user-gate-store.js";
import type { SessionRevoker } from "./session-revocation.js";
import type { SessionRevokeReasonName } from "./sessions.js";
import { barOf, type Bar } from "./user-restrictions.js";

/** A moderation event of the user service, as far as the auth service cares. */
export interface ModerationFact {
  eventId: string;
  userId: string;
  /** The profile's version after the change: orders one user's events. */
  version: bigint;
  occurredAt: Date;
}

export type ModerationChange =
  | { kind: "suspended"; until: Date | null }
  | { kind: "unsuspended" }
  | { kind: "banned" }
  | { kind: "deleted" };

export type ModerationReaction = ReturnType<typeof createModerationReaction>;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const system = { revokedByUserId: null, ip: "", userAgent: "" };
const revocationReasons: Record<Bar, SessionRevokeReasonName> = {
  banned: "user_banned",
  deleted: "user_deleted",
  suspended: "user_suspended",
};

/** Whether the event is newer than the one the row reflects: profile version first, then time. */
function isNewer(fact: ModerationFact, current: RestrictionRecord): boolean {
  if (fact.version !== current.eventVersion) return fact.version > current.eventVersion;
  return current.eventAt === null || fact.occurredAt > current.eventAt;
}

/**
 * The auth side of moderation (user.suspended, user.unsuspended, user.banned, user.deleted): keep
 * the user's restriction, which sign-in and refresh read, and revoke the user's sessions at once.
 *
 * Idempotent and order-proof, so redeliveries and events of different subjects arriving in any
 * order leave the state that applying them in order would have left:
 * - the restriction follows only an event newer than the one it reflects (profile version, then
 *   occurred_at); a ban or a deletion sticks whatever comes after it (both states are terminal);
 * - once the event is applied, a user the rule bars (user-restrictions.ts: banned, deleted, or
 *   suspended with the end not yet come) loses every active session (including one created while
 *   the event was on its way); a late or repeated suspension that no longer bars revokes only
 *   sessions created up to its occurred_at, which an in-order run would have revoked, and leaves
 *   alone those created after the suspension was lifted.
 * The user's gate is held exclusively, so a sign-in in flight either commits first (and its session
 * is revoked here) or waits and then sees the restriction.
 */
export function createModerationReaction(deps: {
  transact: Transact<AuthDatabase>;
  revoker: SessionRevoker;
  clock: Clock;
  logger: Logger;
}) {
  async function apply(fact: ModerationFact, change: ModerationChange): Promise<void> {
    if (!uuidPattern.test(fact.userId)) {
      deps.logger.warn(
        { eventId: fact.eventId, userId: fact.userId, change: change.kind },
        "moderation event without a valid user id; ignored",
      );
      return;
    }
    await deps.transact(async (trx) => {
      const now = deps.clock.now();
      await holdUserGate(trx, fact.userId, "exclusive");
      const current = await lockRestriction(trx, fact.userId, now);
      const newer = isNewer(fact, current);
      const next: RestrictionRecord = { ...current };
      if (newer) {
        next.eventVersion = fact.version;
        next.eventAt = fact.occurredAt;
        if (change.kind === "suspended") Object.assign(next, { suspended: true, suspendedUntil: change.until });
        if (change.kind === "unsuspended") Object.assign(next, { suspended: false, suspendedUntil: null });
      }
      if (change.kind === "banned") next.banned = true;
      if (change.kind === "deleted") next.deleted = true;
      await writeRestriction(trx, fact.userId, next, now);

      const bar = barOf(next, now);
      if (bar) {
        await deps.revoker.revokeSessions(trx, now, { userId: fact.userId }, revocationReasons[bar], system);
        return;
      }
      if (change.kind !== "suspended") return;
      const sessionIds = await activeSessionIdsCreatedBy(trx, fact.userId, fact.occurredAt, now);
      if (sessionIds.length > 0)
        await deps.revoker.revokeSessions(trx, now, { userId: fact.userId, sessionIds }, "user_suspended", system);
    });
  }

  return { apply };
}
