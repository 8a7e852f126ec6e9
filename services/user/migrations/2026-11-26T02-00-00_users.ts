import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // The complete user record (mintcoin.user.v1.User). Enumerations are stored as lower-case words
  // with CHECK constraints, so a row read by hand says what it means.
  await db.schema
    .createTable("users")
    // identity: the auth service's user id; phone and email only ever from a verified identity
    .addColumn("id", "uuid", (col) => col.primaryKey())
    .addColumn("phone", "text")
    .addColumn("email", "text")
    .addColumn("phone_verified", "boolean", (col) => col.notNull().defaultTo(false))
    .addColumn("email_verified", "boolean", (col) => col.notNull().defaultTo(false))
    // profile
    .addColumn("username", "text", (col) => col.notNull())
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("avatar_url", "text")
    .addColumn("bio", "text")
    .addColumn("gender", "text", (col) =>
      col.check(sql`gender in ('male', 'female', 'non_binary', 'other', 'prefer_not_to_say')`),
    )
    .addColumn("age_bracket", "text", (col) =>
      col.check(sql`age_bracket in ('under_18', '18_24', '25_34', '35_44', '45_54', '55_64', '65_plus')`),
    )
    .addColumn("date_of_birth", "date")
    .addColumn("location", "text")
    .addColumn("interests", sql`text[]`, (col) => col.notNull().defaultTo(sql`'{}'`))
    // status and lifecycle
    .addColumn("status", "text", (col) =>
      col.notNull().check(sql`status in ('active', 'suspended', 'banned', 'deleted')`),
    )
    .addColumn("lifecycle_state", "text", (col) =>
      col
        .notNull()
        .check(
          sql`lifecycle_state in ('registered', 'onboarding', 'active', 'creator', 'dormant', 'suspended', 'banned', 'deleted')`,
        ),
    )
    .addColumn("is_creator", "boolean", (col) => col.notNull().defaultTo(false))
    .addColumn("suspended_at", "timestamptz")
    .addColumn("suspended_until", "timestamptz")
    .addColumn("suspension_reason", "text")
    .addColumn("banned_at", "timestamptz")
    .addColumn("ban_reason", "text")
    // KYC
    .addColumn("kyc_status", "text", (col) =>
      col
        .notNull()
        .defaultTo("not_started")
        .check(sql`kyc_status in ('not_started', 'pending', 'verified', 'rejected')`),
    )
    .addColumn("kyc_tier", "integer", (col) => col.notNull().defaultTo(0).check(sql`kyc_tier >= 0`))
    .addColumn("can_earn", "boolean", (col) => col.notNull().defaultTo(false))
    .addColumn("can_withdraw", "boolean", (col) => col.notNull().defaultTo(false))
    // referral
    .addColumn("referral_code", "text", (col) => col.notNull())
    .addColumn("referred_by_code", "text")
    .addColumn("referred_by_user_id", "uuid", (col) => col.references("users.id"))
    // tracking
    .addColumn("registration_device_id", "text")
    .addColumn("registration_ip", "text")
    .addColumn("registration_source", "text")
    .addColumn("profile_completion_percent", "integer", (col) =>
      col.notNull().check(sql`profile_completion_percent between 0 and 100`),
    )
    .addColumn("last_active_at", "timestamptz")
    // audit
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addColumn("updated_at", "timestamptz", (col) => col.notNull())
    .addColumn("deleted_at", "timestamptz")
    .addColumn("version", "bigint", (col) => col.notNull())
    .execute();

  // Usernames are unique whatever their case; this index is the guard that makes concurrent
  // claims of one name end with exactly one winner.
  await sql`create unique index users_username_lower on users (lower(username))`.execute(db);
  await sql`create unique index users_referral_code on users (referral_code)`.execute(db);
  // An identifier belongs to one user (the auth service guarantees it; this keeps lookups exact).
  await sql`create unique index users_phone on users (phone) where phone is not null`.execute(db);
  await sql`create unique index users_email on users (email) where email is not null`.execute(db);
  await sql`create index users_referred_by on users (referred_by_user_id) where referred_by_user_id is not null`.execute(
    db,
  );
  // For a job that moves long-inactive users to DORMANT.
  await sql`create index users_lifecycle_last_active on users (lifecycle_state, last_active_at)`.execute(db);

  // Verified identifiers learnt from the auth service's events (auth.user.registered,
  // auth.identifier.linked), kept even when the profile does not exist yet, so that a profile
  // created later still shows them verified. One row per user and type: the latest wins.
  await db.schema
    .createTable("verified_identifiers")
    .addColumn("user_id", "uuid", (col) => col.notNull())
    .addColumn("identifier_type", "text", (col) => col.notNull().check(sql`identifier_type in ('phone', 'email')`))
    .addColumn("identifier", "text", (col) => col.notNull())
    .addColumn("verified_at", "timestamptz", (col) => col.notNull())
    .addColumn("event_id", "text", (col) => col.notNull())
    .addPrimaryKeyConstraint("verified_identifiers_pkey", ["user_id", "identifier_type"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("verified_identifiers").execute();
  await db.schema.dropTable("users").execute();
}
