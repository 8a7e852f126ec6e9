import { sql, type Kysely, type RawBuilder } from "kysely";
import type { AuthDatabase } from "./schema.js";

/**
 * A per-user transaction lock (a Postgres advisory lock, released at commit or rollback) between
 * what creates sessions and what must kill every session of a user:
 *
 * - a sign-in holds it shared, before it reads the user's restrictions and creates the session;
 * - a suspension, ban or password reset holds it exclusively, before it changes what sign-in
 *   reads and revokes the sessions.
 *
 * So a sign-in either finished before (its session exists and is revoked) or starts after (it sees
 * the restriction or the new password): no session is created in between and survives. It must be
 * taken by a statement before those reads (its own, or an earlier one that also does other work, see
 * userGateSharedLock), because a statement reads the snapshot taken when it started. Sign-ins of one
 * user do not wait for each other (shared), nor for other users.
 */
export async function holdUserGate(
  db: Kysely<AuthDatabase>,
  userId: string,
  mode: "shared" | "exclusive",
): Promise<void> {
  const key = userGateKey(sql`${userId}::text`);
  await (mode === "shared"
    ? sql`select pg_advisory_xact_lock_shared(${key})`
    : sql`select pg_advisory_xact_lock(${key})`
  ).execute(db);
}

/**
 * The shared gate as an expression over a user id (SQL, a uuid), for a statement that learns the
 * user and takes the gate in the same round trip (Login's first statement). A null user id takes
 * nothing (the lock function is strict): the caller must then hold the gate with holdUserGate.
 */
export function userGateSharedLock(userId: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`pg_advisory_xact_lock_shared(${userGateKey(sql`${userId}::text`)})`;
}

function userGateKey(userId: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`hashtextextended('user-gate:' || ${userId}, 0)`;
}
