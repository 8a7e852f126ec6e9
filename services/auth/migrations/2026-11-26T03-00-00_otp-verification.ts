import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Wrong codes per identifier across all its codes and purposes, so a new code buys no new guesses.
  // VerifyOtp locks this row first: every check of one identifier runs one after another.
  await db.schema
    .createTable("otp_guards")
    .addColumn("identifier", "text", (col) => col.primaryKey())
    .addColumn("failures", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("locked_until", "timestamptz")
    .addColumn("last_failure_at", "timestamptz")
    .addColumn("updated_at", "timestamptz", (col) => col.notNull())
    .execute();
  await db.schema.createIndex("otp_guards_updated_at").on("otp_guards").column("updated_at").execute();

  // Proofs from VerifyOtp, stored only as SHA-256 of the token (256 random bits need no slow hash).
  await db.schema
    .createTable("verification_tokens")
    .addColumn("token_hash", "bytea", (col) => col.primaryKey())
    .addColumn("otp_id", "uuid", (col) => col.notNull())
    .addColumn("identifier", "text", (col) => col.notNull())
    .addColumn("identifier_type", "text", (col) => col.notNull())
    .addColumn("purpose", "text", (col) => col.notNull())
    // Wrong codes for the identifier just before this success: feeds the suspicious-login checks.
    .addColumn("prior_failures", "integer", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addColumn("expires_at", "timestamptz", (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex("verification_tokens_expires_at")
    .on("verification_tokens")
    .column("expires_at")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("verification_tokens").execute();
  await db.schema.dropTable("otp_guards").execute();
}
