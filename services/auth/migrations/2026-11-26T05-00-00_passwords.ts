import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // One optional password per user, as an argon2id PHC string (parameters and salt inside it).
  await db.schema
    .createTable("passwords")
    .addColumn("user_id", "uuid", (col) => col.primaryKey())
    .addColumn("hash", "text", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addColumn("updated_at", "timestamptz", (col) => col.notNull())
    .execute();

  // Wrong passwords per identifier, whether or not an account holds it (so the lockout itself says
  // nothing about accounts). Kept apart from otp_guards: guessing passwords must not lock a person
  // out of signing in with a code, which is also how they reset the password.
  await db.schema
    .createTable("password_guards")
    .addColumn("identifier", "text", (col) => col.primaryKey())
    .addColumn("failures", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("locked_until", "timestamptz")
    .addColumn("last_failure_at", "timestamptz")
    .addColumn("updated_at", "timestamptz", (col) => col.notNull())
    .execute();
  await db.schema.createIndex("password_guards_updated_at").on("password_guards").column("updated_at").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("password_guards").execute();
  await db.schema.dropTable("passwords").execute();
}
