import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Secrets every instance must share (the OTP hash key when none is configured).
  await db.schema
    .createTable("server_secrets")
    .addColumn("name", "text", (col) => col.primaryKey())
    .addColumn("value", "bytea", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("otp_codes")
    .addColumn("id", "uuid", (col) => col.primaryKey())
    .addColumn("identifier", "text", (col) => col.notNull())
    .addColumn("identifier_type", "text", (col) => col.notNull())
    .addColumn("purpose", "text", (col) => col.notNull())
    .addColumn("code_hash", "bytea", (col) => col.notNull())
    .addColumn("attempts", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addColumn("expires_at", "timestamptz", (col) => col.notNull())
    // Set when the code is used, superseded by a newer code, or killed by too many wrong guesses.
    .addColumn("closed_at", "timestamptz")
    .addColumn("device_id", "text")
    .addColumn("ip_address", "text")
    .execute();
  await sql`create index otp_codes_open on otp_codes (identifier, purpose, created_at desc) where closed_at is null`.execute(
    db,
  );
  await db.schema.createIndex("otp_codes_expires_at").on("otp_codes").column("expires_at").execute();

  // Sliding-window rate limits: one row per key (e.g. "otp:identifier:+44..."), holding the times of
  // the hits still inside the window. One upsert both counts and records, under the row's lock, so
  // the limit is exact across concurrent requests and service instances.
  await db.schema
    .createTable("rate_limits")
    .addColumn("key", "text", (col) => col.primaryKey())
    .addColumn("hits", sql`timestamptz[]`, (col) => col.notNull())
    .addColumn("updated_at", "timestamptz", (col) => col.notNull())
    .execute();
  await db.schema.createIndex("rate_limits_updated_at").on("rate_limits").column("updated_at").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("rate_limits").execute();
  await db.schema.dropTable("otp_codes").execute();
  await db.schema.dropTable("server_secrets").execute();
}
