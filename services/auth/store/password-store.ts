import { sql, type Kysely } from "kysely";
import { guaranteed } from "../../shared/guaranteed.js";
import type { AuthDatabase } from "./schema.js";

// The queries of the password RPCs. LoginWithPassword runs the same statements whether or not an
// account or a password exists for the identifier, so its database time says nothing either.

export interface PasswordCheckState {
  failures: number;
  lockedUntil: Date | null;
  lastFailureAt: Date | null;
  /** The user holding the identifier, if anyone does. */
  userId: string | null;
  /** That user's argon2id hash, if they set a password. */
  hash: string | null;
}

/**
 * Locks the identifier's guard row (creating it on first use) and reads the account and password
 * behind the identifier, in one statement. Concurrent sign-ins of one identifier queue on the lock
 * and each sees the failures the previous one wrote (the row is re-read at its latest version).
 */
export async function lockPasswordCheck(
  db: Kysely<AuthDatabase>,
  identifier: string,
  now: Date,
): Promise<PasswordCheckState> {
  const { rows } = await sql<{
    failures: number;
    locked_until: Date | null;
    last_failure_at: Date | null;
    user_id: string | null;
    hash: string | null;
  }>`
    with guard as (
      insert into password_guards as g (identifier, failures, updated_at) values (${identifier}, 0, ${now})
      on conflict (identifier) do update set updated_at = g.updated_at
      returning failures, locked_until, last_failure_at
    )
    select guard.failures, guard.locked_until, guard.last_failure_at, i.user_id, p.hash
    from guard
    left join identities i on i.identifier = ${identifier}
    left join passwords p on p.user_id = i.user_id`.execute(db);
  const row = guaranteed(rows[0], "the upsert returns the guard row, inserted or kept, joined to one row");
  return {
    failures: row.failures,
    lockedUntil: row.locked_until,
    lastFailureAt: row.last_failure_at,
    userId: row.user_id,
    hash: row.hash,
  };
}

/** Writes the identifier's guard after counting one more failure. */
export async function recordPasswordFailure(
  db: Kysely<AuthDatabase>,
  identifier: string,
  guard: { failures: number; lockedUntil: Date | null },
  now: Date,
): Promise<void> {
  await db
    .updateTable("password_guards")
    .set({ failures: guard.failures, locked_until: guard.lockedUntil, last_failure_at: now, updated_at: now })
    .where("identifier", "=", identifier)
    .execute();
}

export interface PasswordSuccess {
  identifier: string;
  userId: string;
  /** The hash the password was checked against. */
  checkedHash: string;
  /** Rate-limit key of the client IP whose failure slot to give back (null: none was taken). */
  ipKey: string | null;
  /** A hash with today's parameters to store instead of `checkedHash` (null: keep it). */
  rehash: string | null;
  now: Date;
}

/**
 * A right password: when the user's hash is still the one the password was checked against, clears
 * the identifier's failures (a success resets the count, as with codes), gives back the IP failure
 * slot the attempt had taken in advance, and upgrades an old-parameter hash. Returns false when the
 * password changed meanwhile (the checked one is no longer the password), and then changes nothing.
 */
export async function settlePasswordSuccess(db: Kysely<AuthDatabase>, success: PasswordSuccess): Promise<boolean> {
  const { rows } = await sql<{ unchanged: boolean }>`
    with current as (
      select hash = ${success.checkedHash} as unchanged from passwords where user_id = ${success.userId}
    ), guard as (
      update password_guards set failures = 0, locked_until = null, last_failure_at = null, updated_at = ${success.now}
      where identifier = ${success.identifier} and exists (select 1 from current where unchanged)
    ), ip as (
      update rate_limits set hits = hits[1:cardinality(hits) - 1], updated_at = ${success.now}
      where key = ${success.ipKey} and cardinality(hits) > 0 and exists (select 1 from current where unchanged)
    ), rehash as (
      update passwords set hash = ${success.rehash}, updated_at = ${success.now}
      where user_id = ${success.userId} and hash = ${success.checkedHash} and ${success.rehash}::text is not null
    )
    select coalesce((select unchanged from current), false) as unchanged`.execute(db);
  return guaranteed(rows[0], "a select without from returns one row").unchanged;
}

/** Sets or replaces the user's password hash. */
export async function upsertPassword(db: Kysely<AuthDatabase>, userId: string, hash: string, now: Date): Promise<void> {
  await db
    .insertInto("passwords")
    .values({ user_id: userId, hash, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column("user_id").doUpdateSet({ hash, updated_at: now }))
    .execute();
}

/** Forgets the password failures of every identifier of the user (they just proved who they are). */
export async function clearUserPasswordGuards(db: Kysely<AuthDatabase>, userId: string): Promise<void> {
  await db
    .deleteFrom("password_guards")
    .where("identifier", "in", (qb) => qb.selectFrom("identities").select("identifier").where("user_id", "=", userId))
    .execute();
}
