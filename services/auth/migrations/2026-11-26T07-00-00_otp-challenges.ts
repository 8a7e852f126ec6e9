import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Each code is named by a challenge only the client that asked for it holds (SendOtp returns it,
  // VerifyOtp presents it), stored as SHA-256 like the other opaque tokens. Codes issued before
  // this migration have none and are reachable only without a challenge, as they were.
  await db.schema.alterTable("otp_codes").addColumn("challenge_hash", "bytea").execute();
  await sql`create unique index otp_codes_challenge on otp_codes (challenge_hash) where challenge_hash is not null`.execute(
    db,
  );

  // Wrong guesses made without a challenge: a small allowance per identifier and window, kept apart
  // from every code's attempts so that strangers cannot use those up.
  await db.schema
    .alterTable("otp_guards")
    .addColumn("unbound_failures", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("unbound_since", "timestamptz")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("otp_guards").dropColumn("unbound_since").dropColumn("unbound_failures").execute();
  await sql`drop index otp_codes_challenge`.execute(db);
  await db.schema.alterTable("otp_codes").dropColumn("challenge_hash").execute();
}
