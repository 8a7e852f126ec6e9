import { sql, type Kysely } from "kysely";
import { guaranteed } from "../../shared/guaranteed.js";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { insertOutboxFragment } from "../../shared/outbox/outbox-store.js";
import type { AuthDatabase } from "./schema.js";

// The queries of VerifyOtp. One statement locks and reads, one statement writes the outcome, so a
// check costs two round trips inside its transaction whatever the answer.

export interface OtpCheckState {
  failures: number;
  lockedUntil: Date | null;
  lastFailureAt: Date | null;
  unboundFailures: number;
  unboundSince: Date | null;
  /** The user holding the identifier, if anyone does. */
  userId: string | null;
  /** The live code the guess is checked against, locked until the transaction ends. */
  code: { id: string; codeHash: Uint8Array; attempts: number; identifierType: string } | null;
}

/**
 * Locks the identifier's guard row (creating it on first use), then the code the guess is for, in
 * that order in every transaction, and returns both. The code is the live one named by
 * `challengeHash`, or without a challenge the newest live one for the identifier and purpose.
 * Concurrent checks of one identifier therefore run one after another and each sees the attempts
 * and failures the previous one wrote (a row locked FOR UPDATE is re-read at its latest version),
 * which makes the limits exact.
 */
export async function lockOtpCheck(
  db: Kysely<AuthDatabase>,
  check: { identifier: string; purpose: string; challengeHash: Uint8Array | null; now: Date },
): Promise<OtpCheckState> {
  const { identifier, purpose, challengeHash, now } = check;
  const sameChallenge = challengeHash ? sql`and challenge_hash = ${challengeHash}` : sql``;
  const { rows } = await sql<{
    failures: number;
    locked_until: Date | null;
    last_failure_at: Date | null;
    unbound_failures: number;
    unbound_since: Date | null;
    code_id: string | null;
    code_hash: Uint8Array | null;
    attempts: number | null;
    identifier_type: string | null;
    user_id: string | null;
  }>`
    with guard as (
      insert into otp_guards as g (identifier, failures, updated_at) values (${identifier}, 0, ${now})
      on conflict (identifier) do update set updated_at = g.updated_at
      returning failures, locked_until, last_failure_at, unbound_failures, unbound_since
    )
    select guard.failures, guard.locked_until, guard.last_failure_at, guard.unbound_failures, guard.unbound_since,
           c.id as code_id, c.code_hash, c.attempts, c.identifier_type,
           (select user_id from identities where identifier = ${identifier}) as user_id
    from guard
    left join lateral (
      select id, code_hash, attempts, identifier_type from otp_codes
      where identifier = ${identifier} and purpose = ${purpose} and closed_at is null and expires_at > ${now}
        ${sameChallenge}
      order by created_at desc
      limit 1
      for update
    ) c on true`.execute(db);
  const row = guaranteed(rows[0], "the upsert returns the guard row, inserted or kept, joined to one row");
  return {
    failures: row.failures,
    lockedUntil: row.locked_until,
    lastFailureAt: row.last_failure_at,
    unboundFailures: row.unbound_failures,
    unboundSince: row.unbound_since,
    userId: row.user_id,
    code:
      row.code_id === null
        ? null
        : {
            id: row.code_id,
            codeHash: guaranteed(row.code_hash, "otp_codes.code_hash is NOT NULL"),
            attempts: guaranteed(row.attempts, "otp_codes.attempts is NOT NULL"),
            identifierType: guaranteed(row.identifier_type, "otp_codes.identifier_type is NOT NULL"),
          },
  };
}

/**
 * A wrong code: counts it for the identifier and, when the guess named the code by its challenge, as
 * an attempt on that code (closing it when `close`). A guess without a challenge counts on the
 * identifier's allowance for such guesses (`unbound`) instead, and touches no code.
 */
export async function recordWrongOtpGuess(
  db: Kysely<AuthDatabase>,
  guess: {
    identifier: string;
    code: { id: string; close: boolean } | null;
    failures: number;
    lockedUntil: Date | null;
    unbound: { failures: number; since: Date } | null;
    now: Date;
  },
): Promise<void> {
  const guard = {
    failures: guess.failures,
    locked_until: guess.lockedUntil,
    last_failure_at: guess.now,
    updated_at: guess.now,
    ...(guess.unbound && { unbound_failures: guess.unbound.failures, unbound_since: guess.unbound.since }),
  };
  const code = guess.code;
  if (!code) {
    await db.updateTable("otp_guards").set(guard).where("identifier", "=", guess.identifier).execute();
    return;
  }
  await db
    .with("code", (qb) =>
      qb
        .updateTable("otp_codes")
        .set((eb) => ({ attempts: eb("attempts", "+", 1), closed_at: code.close ? guess.now : null }))
        .where("id", "=", code.id),
    )
    .updateTable("otp_guards")
    .set(guard)
    .where("identifier", "=", guess.identifier)
    .execute();
}

export interface NewVerificationToken {
  tokenHash: Uint8Array;
  otpId: string;
  identifier: string;
  identifierType: string;
  purpose: string;
  priorFailures: number;
  createdAt: Date;
  expiresAt: Date;
}

/** A right code: uses it up, clears the identifier's failures, stores the token and the events. */
export async function recordOtpVerified(
  db: Kysely<AuthDatabase>,
  token: NewVerificationToken,
  events: OutboxRow[],
): Promise<void> {
  const now = token.createdAt;
  await sql`
    with code as (
      update otp_codes set attempts = attempts + 1, closed_at = ${now} where id = ${token.otpId}
    ), guard as (
      update otp_guards set failures = 0, locked_until = null, last_failure_at = null, updated_at = ${now}
      where identifier = ${token.identifier}
    ), token as (
      insert into verification_tokens (token_hash, otp_id, identifier, identifier_type, purpose, prior_failures, created_at, expires_at)
      values (${token.tokenHash}, ${token.otpId}, ${token.identifier}, ${token.identifierType}, ${token.purpose},
        ${token.priorFailures}, ${token.createdAt}, ${token.expiresAt})
    )
    ${insertOutboxFragment(events)}`.execute(db);
}
