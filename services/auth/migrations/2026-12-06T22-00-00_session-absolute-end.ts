import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // A session's absolute end (SESSION_MAX_AGE after sign-in, RFC 9700 section 4.14.2), which no
  // refresh moves. Sessions created before it get the default maximum age, 30 days after their
  // sign-in; their sliding expiry and their refresh tokens are cut back to it, so none outlives it.
  await db.schema.alterTable("sessions").addColumn("absolute_expires_at", "timestamptz").execute();
  await sql`update sessions set absolute_expires_at = created_at + interval '30 days'`.execute(db);
  await db.schema
    .alterTable("sessions")
    .alterColumn("absolute_expires_at", (col) => col.setNotNull())
    .execute();
  await sql`update sessions set expires_at = absolute_expires_at where expires_at > absolute_expires_at`.execute(db);
  await sql`
    update refresh_tokens rt set expires_at = s.absolute_expires_at
    from sessions s
    where s.id = rt.session_id and rt.expires_at > s.absolute_expires_at`.execute(db);

  // A session's current refresh token now stays until the session itself is removed (so a refresh
  // after the end is told why it is refused); only rotated-away tokens go at their expiry, and the
  // cleanup finds them through this index.
  await sql`drop index refresh_tokens_expires_at`.execute(db);
  await sql`create index refresh_tokens_rotated_expires_at on refresh_tokens (expires_at) where rotated_at is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index refresh_tokens_rotated_expires_at`.execute(db);
  await db.schema.createIndex("refresh_tokens_expires_at").on("refresh_tokens").column("expires_at").execute();
  await db.schema.alterTable("sessions").dropColumn("absolute_expires_at").execute();
}
