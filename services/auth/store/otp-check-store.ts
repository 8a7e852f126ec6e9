import { sql, type Kysely } from "kysely";
import { guaranteed } from "../../shared/guaranteed.js";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { insertOutboxFragment, insertOutboxWhereFragment } from "../../shared/outbox/outbox-store.js";
import type { AuthDatabase } from "./schema.js";

// The queries of VerifyOtp. The locking path: one statement locks and reads, one statement writes
// the outcome, inside a transaction. The optimistic path: one statement reads without locks
// (peekOtpCheck), and a right code is recorded by one statement that first checks, under the guard
// row's lock, that the guard is as read (recordOtpVerifiedIfUnchanged): two autocommit round trips.

export interface OtpCheckState {
  failures: number;
  lockedUntil: Date | null;
  lastFailureAt: Date | null;
  unboundFailures: number;
  unboundSince: Date | null;
  /** The user holding the identifier, if anyone does. */
  userId: string | null;
  /** Whether the identifier's guard row exists (peekOtpCheck does not create it). */
  guardExists: boolean;
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
export async function lockOtpCheck(db: Kysely<AuthDatabase>, check: OtpCheck): Promise<OtpCheckState> {
  const { identifier, now } = check;
  const { rows } = await sql<OtpCheckRow>`
    with guard as (
      insert into otp_guards as g (identifier, failures, updated_at) values (${identifier}, 0, ${now})
      on conflict (identifier) do update set updated_at = g.updated_at
      returning failures, locked_until, last_failure_at, unbound_failures, unbound_since
    )
    select guard.failures, guard.locked_until, guard.last_failure_at, guard.unbound_failures, guard.unbound_since,
           c.id as code_id, c.code_hash, c.attempts, c.identifier_type,
           (select user_id from identities where identifier = ${identifier}) as user_id
    from guard
    left join lateral (${liveCodeOf(check)} for update) c on true`.execute(db);
  return otpCheckStateFrom(
    guaranteed(rows[0], "the upsert returns the guard row, inserted or kept, joined to one row"),
  );
}

interface OtpCheck {
  identifier: string;
  purpose: string;
  challengeHash: Uint8Array | null;
  now: Date;
}

interface OtpCheckRow {
  failures: number | null;
  locked_until: Date | null;
  last_failure_at: Date | null;
  unbound_failures: number | null;
  unbound_since: Date | null;
  code_id: string | null;
  code_hash: Uint8Array | null;
  attempts: number | null;
  identifier_type: string | null;
  user_id: string | null;
}

function otpCheckStateFrom(row: OtpCheckRow): OtpCheckState {
  return {
    guardExists: row.failures !== null,
    failures: row.failures ?? 0,
    lockedUntil: row.locked_until,
    lastFailureAt: row.last_failure_at,
    unboundFailures: row.unbound_failures ?? 0,
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
 * What lockOtpCheck reads, without locking or creating anything and outside any transaction: the
 * guard row (missing: guardExists false, zeros) and the live code. A refusal that writes nothing
 * (locked, no live code) can be answered from it; a right code is then recorded by
 * recordOtpVerifiedIfUnchanged, which re-checks under lock what this read.
 */
export async function peekOtpCheck(db: Kysely<AuthDatabase>, check: OtpCheck): Promise<OtpCheckState> {
  const { identifier } = check;
  const { rows } = await sql<OtpCheckRow>`
    select g.failures, g.locked_until, g.last_failure_at, g.unbound_failures, g.unbound_since,
           c.id as code_id, c.code_hash, c.attempts, c.identifier_type,
           (select user_id from identities where identifier = ${identifier}) as user_id
    from (select 1) as one
    left join otp_guards g on g.identifier = ${identifier}
    left join lateral (${liveCodeOf(check)}) c on true`.execute(db);
  return otpCheckStateFrom(guaranteed(rows[0], "a select from one row with left joins returns one row"));
}

/**
 * A wrong code: counts it for the identifier and, when the guess named the code by its challenge, as
 * an attempt on that code (closing it when `close`). A guess without a challenge counts on the
 * identifier's allowance for such guesses (`unbound`) instead, and touches no code.
 */
export interface WrongOtpGuess {
  identifier: string;
  code: { id: string; close: boolean } | null;
  failures: number;
  lockedUntil: Date | null;
  unbound: { failures: number; since: Date } | null;
  now: Date;
}

export async function recordWrongOtpGuess(db: Kysely<AuthDatabase>, guess: WrongOtpGuess): Promise<void> {
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

/**
 * recordOtpVerified in one statement outside any transaction, for a decision made on peekOtpCheck's
 * read: it writes only if, under the guard row's lock, the guard still holds what was read
 * (`seen`), and the code is still open with the attempts read. Every wrong guess changes the guard
 * (its failures and time), so an unchanged guard means no guess was counted in between, and the
 * decision stands. The guard is locked before the code, as lockOtpCheck does. Returns false, having
 * written nothing that matters, when either changed: the caller decides again under locks. (The one
 * write that can pass the guard check and miss the code is a reset of a guard already reset by a
 * concurrent right code, which changes only its updated_at.)
 */
export async function recordOtpVerifiedIfUnchanged(
  db: Kysely<AuthDatabase>,
  token: NewVerificationToken,
  seen: { state: OtpCheckState; attempts: number },
  events: OutboxRow[],
): Promise<boolean> {
  const now = token.createdAt;
  const { state } = seen;
  const verified = sql`exists (select 1 from code)`;
  const { rows } = await sql<{ verified: boolean }>`
    with guard as (
      update otp_guards set failures = 0, locked_until = null, last_failure_at = null, updated_at = ${now}
      where identifier = ${token.identifier} and failures = ${state.failures}
        and locked_until is not distinct from ${state.lockedUntil}::timestamptz
        and last_failure_at is not distinct from ${state.lastFailureAt}::timestamptz
        and unbound_failures = ${state.unboundFailures}
        and unbound_since is not distinct from ${state.unboundSince}::timestamptz
      returning identifier
    ), code as (
      update otp_codes set attempts = attempts + 1, closed_at = ${now}
      where id = ${token.otpId} and closed_at is null and attempts = ${seen.attempts} and exists (select 1 from guard)
      returning id
    ), token as (
      insert into verification_tokens (token_hash, otp_id, identifier, identifier_type, purpose, prior_failures, created_at, expires_at)
      select ${token.tokenHash}::bytea, id, ${token.identifier}::text, ${token.identifierType}::text, ${token.purpose}::text,
        ${token.priorFailures}::integer, ${token.createdAt}::timestamptz, ${token.expiresAt}::timestamptz from code
    ), events as (
      ${insertOutboxWhereFragment(events, verified)}
    )
    select ${verified} as verified`.execute(db);
  return rows[0]?.verified === true;
}

/**
 * The code a guess is for: the live one named by `challengeHash`, or without a challenge the newest
 * live one for the identifier and purpose (the same choice whether it is locked or only read).
 */
function liveCodeOf(check: OtpCheck) {
  const { identifier, purpose, challengeHash, now } = check;
  const sameChallenge = challengeHash ? sql`and challenge_hash = ${challengeHash}` : sql``;
  return sql`
    select id, code_hash, attempts, identifier_type from otp_codes
    where identifier = ${identifier} and purpose = ${purpose} and closed_at is null and expires_at > ${now}
      ${sameChallenge}
    order by created_at desc
    limit 1`;
}
