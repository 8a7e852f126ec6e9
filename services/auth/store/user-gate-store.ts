import { sql, type Kysely } from "kysely";
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
 * a statement of its own before those reads, because a statement reads the snapshot taken when it
 * started. Sign-ins of one user do not wait for each other (shared), nor for other users.
 */
export async function holdUserGate(
  db: Kysely<AuthDatabase>,
  userId: string,
  mode: "shared" | "exclusive",
): Promise<void> {
  const key = sql`hashtextextended(${`user-gate:${userId}`}, 0)`;
  await (mode === "shared"
    ? sql`select pg_advisory_xact_lock_shared(${key})`
    : sql`select pg_advisory_xact_lock(${key})`
  ).execute(db);
}
