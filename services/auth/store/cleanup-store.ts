import { sql, type Kysely } from "kysely";
import type { AuthDatabase } from "./schema.js";

// Batched deletes for the background cleanup. Each statement removes at most `limit` rows, skipping
// rows a request holds locked, and commits on its own: no long transaction, no waiting on requests.

async function deleteBatch(
  db: Kysely<AuthDatabase>,
  table: string,
  key: string,
  condition: ReturnType<typeof sql>,
  limit: number,
): Promise<number> {
  const result = await sql`
    delete from ${sql.table(table)} where ${sql.ref(key)} in (
      select ${sql.ref(key)} from ${sql.table(table)} where ${condition} limit ${limit} for update skip locked
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export const cleanupBatches = {
  /** One-time codes past their expiry: they can no longer be used. */
  expiredOtpCodes: (db: Kysely<AuthDatabase>, now: Date, limit: number) =>
    deleteBatch(db, "otp_codes", "id", sql`expires_at < ${now}`, limit),

  expiredVerificationTokens: (db: Kysely<AuthDatabase>, now: Date, limit: number) =>
    deleteBatch(db, "verification_tokens", "token_hash", sql`expires_at < ${now}`, limit),

  /** Rate-limit rows untouched for longer than the longest window hold no hit that still counts. */
  idleRateLimits: (db: Kysely<AuthDatabase>, idleSince: Date, limit: number) =>
    deleteBatch(db, "rate_limits", "key", sql`updated_at < ${idleSince}`, limit),

  /** Guards untouched for longer than failures are remembered, and not locked now. */
  idleOtpGuards: (db: Kysely<AuthDatabase>, idleSince: Date, now: Date, limit: number) =>
    deleteBatch(
      db,
      "otp_guards",
      "identifier",
      sql`updated_at < ${idleSince} and (locked_until is null or locked_until < ${now})`,
      limit,
    ),

  /** Password guards (one per identifier anyone tried, known or not), on the same rule as OTP guards. */
  idlePasswordGuards: (db: Kysely<AuthDatabase>, idleSince: Date, now: Date, limit: number) =>
    deleteBatch(
      db,
      "password_guards",
      "identifier",
      sql`updated_at < ${idleSince} and (locked_until is null or locked_until < ${now})`,
      limit,
    ),

  /** Failed client authentications per client and address, on the same rule as OTP guards. */
  idleClientAuthGuards: (db: Kysely<AuthDatabase>, idleSince: Date, now: Date, limit: number) =>
    deleteBatch(
      db,
      "client_auth_guards",
      "key",
      sql`updated_at < ${idleSince} and (locked_until is null or locked_until < ${now})`,
      limit,
    ),

  /**
   * Rotated-away refresh tokens past their expiry. A session's current token stays until the session
   * itself goes (endedSessions), so a refresh after the end still learns why it is refused (expired,
   * maximum age, revoked) instead of "unknown token".
   */
  expiredRefreshTokens: (db: Kysely<AuthDatabase>, now: Date, limit: number) =>
    deleteBatch(db, "refresh_tokens", "token_hash", sql`expires_at < ${now} and rotated_at is not null`, limit),

  /** Sessions that ended before `endedBefore` (their refresh tokens go with them). */
  endedSessions: (db: Kysely<AuthDatabase>, endedBefore: Date, limit: number) =>
    deleteBatch(db, "sessions", "id", sql`expires_at < ${endedBefore}`, limit),
};

/** Send-budget counters of windows that started before `startedBefore` (long over, so they count nothing). */
export async function deletePastSendBudgets(
  db: Kysely<AuthDatabase>,
  startedBefore: Date,
  limit: number,
): Promise<number> {
  const result = await sql`
    delete from otp_send_budgets where (channel, window_start) in (
      select channel, window_start from otp_send_budgets where window_start < ${startedBefore}
      limit ${limit} for update skip locked
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Forgets sealed grace copies of token pairs once their grace window is over. */
export async function clearSealedPairs(db: Kysely<AuthDatabase>, rotatedBefore: Date, limit: number): Promise<number> {
  const result = await sql`
    update refresh_tokens set successor_box = null where token_hash in (
      select token_hash from refresh_tokens
      where successor_box is not null and rotated_at < ${rotatedBefore}
      limit ${limit} for update skip locked
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
