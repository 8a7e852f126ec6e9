import { sql, type Kysely, type RawBuilder } from "kysely";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { insertOutboxWhereFragment } from "../../shared/outbox/outbox-store.js";
import { recentNetworks } from "./device-store.js";
import type { AuthDatabase } from "./schema.js";

export interface RefreshState {
  sessionId: string;
  tokenExpiresAt: Date;
  rotatedAt: Date | null;
  successorHash: Uint8Array | null;
  successorBox: Uint8Array | null;
  userId: string;
  deviceId: string;
  deviceRecordId: string;
  sessionRevokedAt: Date | null;
  sessionExpiresAt: Date;
  sessionAbsoluteExpiresAt: Date;
  currentTokenHash: Uint8Array;
  deviceBlocked: boolean;
  restriction: { suspended: boolean; suspendedUntil: Date | null; banned: boolean; deleted: boolean } | null;
  identifiers: Array<{ type: string; identifier: string }>;
  /** The session's last active authentication (kept by every refresh). */
  authTime: Date | null;
  authMethods: string[];
}

/**
 * Finds a refresh token with its session, device, restrictions and identifiers, locking the token
 * and session rows. Concurrent refreshes with one token queue here; each one after the first reads
 * the rows as the first left them (rows locked FOR UPDATE are re-read at their latest version).
 */
export async function lockRefreshToken(
  db: Kysely<AuthDatabase>,
  tokenHash: Uint8Array,
): Promise<RefreshState | undefined> {
  return readRefreshState(db, tokenHash, sql`for update of rt, s`);
}

/**
 * The same read without locks, outside any transaction: for the optimistic rotation, whose write
 * (rotateRefreshTokenIfHead) checks under the row's lock that the session has not moved since.
 */
export async function peekRefreshToken(
  db: Kysely<AuthDatabase>,
  tokenHash: Uint8Array,
): Promise<RefreshState | undefined> {
  return readRefreshState(db, tokenHash, sql``);
}

async function readRefreshState(
  db: Kysely<AuthDatabase>,
  tokenHash: Uint8Array,
  locking: RawBuilder<unknown>,
): Promise<RefreshState | undefined> {
  const { rows } = await sql<{
    session_id: string;
    token_expires_at: Date;
    rotated_at: Date | null;
    successor_hash: Uint8Array | null;
    successor_box: Uint8Array | null;
    user_id: string;
    device_id: string;
    device_record_id: string;
    revoked_at: Date | null;
    session_expires_at: Date;
    absolute_expires_at: Date;
    current_token_hash: Uint8Array;
    blocked: boolean;
    suspended: boolean | null;
    suspended_until: Date | null;
    banned: boolean | null;
    deleted: boolean | null;
    identifiers: Array<{ type: string; identifier: string }>;
    auth_time: Date | null;
    auth_methods: string[];
  }>`
    select rt.session_id, rt.expires_at as token_expires_at, rt.rotated_at, rt.successor_hash, rt.successor_box,
      s.user_id, s.device_id, s.device_record_id, s.revoked_at, s.expires_at as session_expires_at, s.absolute_expires_at,
      s.current_token_hash, s.auth_time, s.auth_methods,
      d.blocked, r.suspended, r.suspended_until, r.banned, r.deleted,
      (select coalesce(json_agg(json_build_object('type', i.identifier_type, 'identifier', i.identifier)), '[]'::json)
        from identities i where i.user_id = s.user_id) as identifiers
    from refresh_tokens rt
    join sessions s on s.id = rt.session_id
    join devices d on d.id = s.device_record_id
    left join user_restrictions r on r.user_id = s.user_id
    where rt.token_hash = ${tokenHash}
    ${locking}`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  return {
    sessionId: row.session_id,
    tokenExpiresAt: row.token_expires_at,
    rotatedAt: row.rotated_at,
    successorHash: row.successor_hash,
    successorBox: row.successor_box,
    userId: row.user_id,
    deviceId: row.device_id,
    deviceRecordId: row.device_record_id,
    sessionRevokedAt: row.revoked_at,
    sessionExpiresAt: row.session_expires_at,
    sessionAbsoluteExpiresAt: row.absolute_expires_at,
    currentTokenHash: row.current_token_hash,
    deviceBlocked: row.blocked,
    restriction:
      row.suspended === null
        ? null
        : {
            suspended: row.suspended,
            suspendedUntil: row.suspended_until,
            banned: row.banned ?? false,
            deleted: row.deleted ?? false,
          },
    identifiers: row.identifiers,
    authTime: row.auth_time,
    authMethods: row.auth_methods,
  };
}

export interface Rotation {
  oldHash: Uint8Array;
  newHash: Uint8Array;
  /** The new pair sealed under the old token, for a retry in the grace window. */
  successorBox: Uint8Array;
  sessionId: string;
  deviceRecordId: string;
  now: Date;
  /** The new refresh token's expiry, and so the session's (never past its absolute end). */
  expiresAt: Date;
  accessExpiresAt: Date;
  ip: string;
  /** The client IP's network, added to the device's recent networks (null: none). */
  network: string | null;
  userAgent: string;
}

/**
 * Rotates in one statement (and so, outside a transaction, one autocommit round trip): the old token
 * points at its successor, the new token becomes the session's head, the session slides its expiry,
 * and the events are recorded; but only while the session is still active with the old token as its
 * head, which the update re-checks under the session row's lock. Every change that must stop a
 * rotation moves that row first: another rotation moves the head, and a revocation (sign-out, reuse,
 * blocked device, suspension, ban, password reset) sets revoked_at. So when the check holds, nothing
 * the caller decided on (read by peekRefreshToken) has changed; when it fails, nothing is written
 * and the caller decides again under locks; under those locks the check holds. The device's last use
 * is updated only if no one else holds its row (a BlockDevice in progress): never wait on it, so a
 * refresh (token, session, device) and a block (device, sessions) cannot deadlock. False when it did
 * not rotate.
 */
export async function rotateRefreshTokenIfHead(
  db: Kysely<AuthDatabase>,
  rotation: Rotation,
  events: OutboxRow[],
): Promise<boolean> {
  const { now } = rotation;
  const rotated = sql`exists (select 1 from session)`;
  const { rows } = await sql<{ rotated: boolean }>`
    with session as (
      update sessions set current_token_hash = ${rotation.newHash}, last_used_at = ${now}, expires_at = ${rotation.expiresAt},
        access_expires_at = ${rotation.accessExpiresAt}, ip_address = ${rotation.ip}, user_agent = ${rotation.userAgent}
      where id = ${rotation.sessionId} and revoked_at is null and current_token_hash = ${rotation.oldHash}
        -- The token row is locked before the session row (the update locks it only once this holds),
        -- as lockRefreshToken's fallback takes them: two refreshes of one token can never each hold
        -- the row the other waits for.
        and exists (select 1 from refresh_tokens where token_hash = ${rotation.oldHash} for update)
      returning id
    ), old as (
      update refresh_tokens set rotated_at = ${now}, successor_hash = ${rotation.newHash}, successor_box = ${rotation.successorBox}
      where token_hash = ${rotation.oldHash} and rotated_at is null and ${rotated}
    ), new as (
      insert into refresh_tokens (token_hash, session_id, created_at, expires_at, rotated_at, successor_hash, successor_box)
      select ${rotation.newHash}::bytea, id, ${now}::timestamptz, ${rotation.expiresAt}::timestamptz, null, null, null from session
    ), device as (
      update devices set last_ip = ${rotation.ip}, last_used_at = ${now},
        networks = ${recentNetworks(sql`networks`, rotation.network)}
      where id in (select id from devices where id = ${rotation.deviceRecordId} for update skip locked) and ${rotated}
    ), events as (
      ${insertOutboxWhereFragment(events, rotated)}
    )
    select ${rotated} as rotated`.execute(db);
  return rows[0]?.rotated === true;
}
