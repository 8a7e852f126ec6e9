import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Who holds which identifier. The primary key makes an identifier belong to at most one user;
  // the unique (user_id, identifier_type) keeps an account at one phone and one email.
  await db.schema
    .createTable("identities")
    .addColumn("identifier", "text", (col) => col.primaryKey())
    .addColumn("identifier_type", "text", (col) => col.notNull())
    .addColumn("user_id", "uuid", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addUniqueConstraint("identities_one_per_type", ["user_id", "identifier_type"])
    .execute();

  // Suspensions and bans, as the user service announces them (user.suspended, user.banned, ...).
  // Sign-in and refresh read it; suspended with no end time means until lifted.
  await db.schema
    .createTable("user_restrictions")
    .addColumn("user_id", "uuid", (col) => col.primaryKey())
    .addColumn("suspended", "boolean", (col) => col.notNull().defaultTo(false))
    .addColumn("suspended_until", "timestamptz")
    .addColumn("banned", "boolean", (col) => col.notNull().defaultTo(false))
    .addColumn("updated_at", "timestamptz", (col) => col.notNull())
    .execute();

  await db.schema
    .createTable("devices")
    .addColumn("id", "uuid", (col) => col.primaryKey())
    .addColumn("user_id", "uuid", (col) => col.notNull())
    .addColumn("device_id", "text", (col) => col.notNull())
    .addColumn("device_name", "text", (col) => col.notNull())
    .addColumn("device_type", "text", (col) => col.notNull())
    .addColumn("os_name", "text", (col) => col.notNull())
    .addColumn("os_version", "text", (col) => col.notNull())
    .addColumn("browser_name", "text", (col) => col.notNull())
    .addColumn("browser_version", "text", (col) => col.notNull())
    .addColumn("fingerprint", "text", (col) => col.notNull())
    .addColumn("user_agent", "text", (col) => col.notNull())
    .addColumn("trusted", "boolean", (col) => col.notNull().defaultTo(false))
    .addColumn("blocked", "boolean", (col) => col.notNull().defaultTo(false))
    .addColumn("blocked_reason", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("blocked_at", "timestamptz")
    .addColumn("last_ip", "text", (col) => col.notNull())
    .addColumn("last_used_at", "timestamptz", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addUniqueConstraint("devices_user_device", ["user_id", "device_id"])
    .execute();

  // A session lives as long as its refresh-token chain; current_token_hash is the chain's head.
  await db.schema
    .createTable("sessions")
    .addColumn("id", "uuid", (col) => col.primaryKey())
    .addColumn("user_id", "uuid", (col) => col.notNull())
    .addColumn("device_record_id", "uuid", (col) => col.notNull().references("devices.id"))
    .addColumn("device_id", "text", (col) => col.notNull())
    .addColumn("device_name", "text", (col) => col.notNull())
    .addColumn("method", "text", (col) => col.notNull())
    .addColumn("ip_address", "text", (col) => col.notNull())
    .addColumn("user_agent", "text", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addColumn("last_used_at", "timestamptz", (col) => col.notNull())
    .addColumn("expires_at", "timestamptz", (col) => col.notNull())
    // The expiry of the newest access token: after it, a revocation need not be remembered.
    .addColumn("access_expires_at", "timestamptz", (col) => col.notNull())
    .addColumn("current_token_hash", "bytea", (col) => col.notNull())
    .addColumn("revoked_at", "timestamptz")
    .addColumn("revoke_reason", "text")
    .execute();
  await sql`create index sessions_user on sessions (user_id, last_used_at desc)`.execute(db);
  await db.schema.createIndex("sessions_device_record").on("sessions").column("device_record_id").execute();
  await db.schema.createIndex("sessions_expires_at").on("sessions").column("expires_at").execute();

  // Every refresh token a session was given, as SHA-256: the head is current; the others were
  // rotated away and, presented again, reveal a stolen token. successor_box holds the pair that
  // replaced the token, encrypted under a key derived from the token itself, for a retry within the
  // grace window.
  await db.schema
    .createTable("refresh_tokens")
    .addColumn("token_hash", "bytea", (col) => col.primaryKey())
    .addColumn("session_id", "uuid", (col) => col.notNull().references("sessions.id").onDelete("cascade"))
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addColumn("expires_at", "timestamptz", (col) => col.notNull())
    .addColumn("rotated_at", "timestamptz")
    .addColumn("successor_hash", "bytea")
    .addColumn("successor_box", "bytea")
    .execute();
  await db.schema.createIndex("refresh_tokens_session").on("refresh_tokens").column("session_id").execute();
  await db.schema.createIndex("refresh_tokens_expires_at").on("refresh_tokens").column("expires_at").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("refresh_tokens").execute();
  await db.schema.dropTable("sessions").execute();
  await db.schema.dropTable("devices").execute();
  await db.schema.dropTable("user_restrictions").execute();
  await db.schema.dropTable("identities").execute();
}
