import { sql, type Kysely } from "kysely";
import { guaranteed } from "../../shared/guaranteed.js";
import type { AuthDatabase } from "./schema.js";

/** A user's restriction row, with the moderation event it reflects. */
export interface RestrictionRecord {
  suspended: boolean;
  suspendedUntil: Date | null;
  banned: boolean;
  deleted: boolean;
  /** Profile version of the newest moderation event applied (0: none). */
  eventVersion: bigint;
  /** occurred_at of that event (null: none). */
  eventAt: Date | null;
}

/** Locks the user's restriction row, creating an unrestricted one first if there is none. */
export async function lockRestriction(db: Kysely<AuthDatabase>, userId: string, now: Date): Promise<RestrictionRecord> {
  const { rows } = await sql<{
    suspended: boolean;
    suspended_until: Date | null;
    banned: boolean;
    deleted: boolean;
    event_version: string;
    event_at: Date | null;
  }>`
    insert into user_restrictions as r (user_id, updated_at) values (${userId}, ${now})
    on conflict (user_id) do update set updated_at = r.updated_at
    returning suspended, suspended_until, banned, deleted, event_version, event_at`.execute(db);
  const row = guaranteed(rows[0], "the upsert returns the restriction row, inserted or kept");
  return {
    suspended: row.suspended,
    suspendedUntil: row.suspended_until,
    banned: row.banned,
    deleted: row.deleted,
    eventVersion: BigInt(row.event_version),
    eventAt: row.event_at,
  };
}

export async function writeRestriction(
  db: Kysely<AuthDatabase>,
  userId: string,
  record: RestrictionRecord,
  now: Date,
): Promise<void> {
  await db
    .updateTable("user_restrictions")
    .set({
      suspended: record.suspended,
      suspended_until: record.suspendedUntil,
      banned: record.banned,
      deleted: record.deleted,
      event_version: record.eventVersion.toString(),
      event_at: record.eventAt,
      updated_at: now,
    })
    .where("user_id", "=", userId)
    .execute();
}

/** Ids of the user's active sessions created at or before `createdBy`. */
export async function activeSessionIdsCreatedBy(
  db: Kysely<AuthDatabase>,
  userId: string,
  createdBy: Date,
  now: Date,
): Promise<string[]> {
  const rows = await db
    .selectFrom("sessions")
    .select("id")
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now)
    .where("created_at", "<=", createdBy)
    .execute();
  return rows.map((row) => row.id);
}
