import { sql, type Kysely, type RawBuilder } from "kysely";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { insertOutboxFragment } from "../../shared/outbox/outbox-store.js";
import type { AuthDatabase } from "./schema.js";

export interface NewSession {
  id: string;
  userId: string;
  deviceRecordId: string;
  deviceId: string;
  deviceName: string;
  method: string;
  ip: string;
  userAgent: string;
  now: Date;
  /** The sliding expiry (the first refresh token's). */
  expiresAt: Date;
  /** The absolute end, which no refresh moves. */
  absoluteExpiresAt: Date;
  accessExpiresAt: Date;
  refreshTokenHash: Uint8Array;
  /** The sign-in's authentication (null when the risk policy held it for step-up). */
  authTime: Date | null;
  authMethods: string[];
  /** The identifier the sign-in proved (step-up of a held session needs another proof). */
  signInIdentifier: string;
}

/** Creates a session with its first refresh token and records its events, in one statement. */
export async function insertSession(db: Kysely<AuthDatabase>, session: NewSession, events: OutboxRow[]): Promise<void> {
  await sql`
    with ${sessionInsertCtes(session, sql`${session.deviceRecordId}::uuid`, sql`true`)}
    ${insertOutboxFragment(events)}`.execute(db);
}

/**
 * The session row and its first refresh token, as the CTEs `session` and `token` of a statement:
 * written only when `when` holds (SQL: `true`, or a condition over earlier CTEs), with the device
 * record id given as SQL (a value, or read from an earlier CTE). Every value is cast: in
 * INSERT ... SELECT the parameters take their types from the select, not from the columns.
 */
export function sessionInsertCtes(
  session: Omit<NewSession, "deviceRecordId">,
  deviceRecordId: RawBuilder<unknown>,
  when: RawBuilder<unknown>,
): RawBuilder<unknown> {
  return sql`session as (
      insert into sessions (id, user_id, device_record_id, device_id, device_name, method, ip_address, user_agent,
        created_at, last_used_at, expires_at, absolute_expires_at, access_expires_at, current_token_hash, revoked_at,
        revoke_reason, auth_time, auth_methods, sign_in_identifier)
      select ${session.id}::uuid, ${session.userId}::uuid, ${deviceRecordId}, ${session.deviceId}::text,
        ${session.deviceName}::text, ${session.method}::text, ${session.ip}::text, ${session.userAgent}::text,
        ${session.now}::timestamptz, ${session.now}::timestamptz, ${session.expiresAt}::timestamptz,
        ${session.absoluteExpiresAt}::timestamptz, ${session.accessExpiresAt}::timestamptz,
        ${session.refreshTokenHash}::bytea, null, null, ${session.authTime}::timestamptz,
        ${session.authMethods}::text[], ${session.signInIdentifier}::text
      where ${when}
    ), token as (
      insert into refresh_tokens (token_hash, session_id, created_at, expires_at, rotated_at, successor_hash, successor_box)
      select ${session.refreshTokenHash}::bytea, ${session.id}::uuid, ${session.now}::timestamptz,
        ${session.expiresAt}::timestamptz, null, null, null
      where ${when}
    )`;
}

export interface SessionFilter {
  userId: string;
  sessionIds?: string[];
  exceptSessionId?: string;
  deviceRecordId?: string;
}

export interface RevokedSessionRow {
  sessionId: string;
  userId: string;
  deviceId: string;
  accessExpiresAt: Date;
}

/** Revokes the user's active sessions matching `filter`; returns those it revoked (not those already ended). */
export async function revokeActiveSessions(
  db: Kysely<AuthDatabase>,
  filter: SessionFilter,
  reason: string,
  now: Date,
): Promise<RevokedSessionRow[]> {
  if (filter.sessionIds?.length === 0) return [];
  let query = db
    .updateTable("sessions")
    .set({ revoked_at: now, revoke_reason: reason })
    .where("user_id", "=", filter.userId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now);
  if (filter.sessionIds) query = query.where("id", "in", filter.sessionIds);
  if (filter.exceptSessionId) query = query.where("id", "!=", filter.exceptSessionId);
  if (filter.deviceRecordId) query = query.where("device_record_id", "=", filter.deviceRecordId);
  const rows = await query.returning(["id", "user_id", "device_id", "access_expires_at"]).execute();
  return rows.map((row) => ({
    sessionId: row.id,
    userId: row.user_id,
    deviceId: row.device_id,
    accessExpiresAt: row.access_expires_at,
  }));
}

export interface ActiveSessionRow {
  id: string;
  deviceId: string;
  deviceName: string;
  ip: string;
  userAgent: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
}

/** The user's sessions that are neither revoked nor expired, most recently used first. */
export async function listActiveSessions(
  db: Kysely<AuthDatabase>,
  userId: string,
  now: Date,
): Promise<ActiveSessionRow[]> {
  const rows = await db
    .selectFrom("sessions")
    .select(["id", "device_id", "device_name", "ip_address", "user_agent", "created_at", "last_used_at", "expires_at"])
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now)
    .orderBy("last_used_at", "desc")
    .orderBy("created_at", "desc")
    .execute();
  return rows.map((row) => ({
    id: row.id,
    deviceId: row.device_id,
    deviceName: row.device_name,
    ip: row.ip_address,
    userAgent: row.user_agent,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
  }));
}

/** Whether the session exists, is not revoked and has not expired. */
export async function isSessionActive(db: Kysely<AuthDatabase>, sessionId: string, now: Date): Promise<boolean> {
  const row = await db
    .selectFrom("sessions")
    .select("id")
    .where("id", "=", sessionId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now)
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether the session (in any state) belongs to the user. */
export async function sessionBelongsTo(db: Kysely<AuthDatabase>, sessionId: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom("sessions")
    .select("id")
    .where("id", "=", sessionId)
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return row !== undefined;
}
