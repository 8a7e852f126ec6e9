import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Other services' identities for the OAuth 2.0 client credentials grant. The secret is kept only
  // as the SHA-256 of its 256 random bits; scopes are the ones the account may ask for. Accounts are
  // disabled, never deleted, so a client id and a name always mean the same account.
  await db.schema
    .createTable("service_accounts")
    .addColumn("client_id", "text", (col) => col.primaryKey())
    .addColumn("name", "text", (col) => col.notNull().unique())
    .addColumn("secret_hash", "bytea", (col) => col.notNull())
    .addColumn("scopes", sql`text[]`, (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addColumn("secret_rotated_at", "timestamptz")
    .addColumn("disabled_at", "timestamptz")
    .execute();

  // Failed client authentications per client id and client address, with the doubling lockout of
  // passwords: keyed by address too, so that nobody who merely knows a client id (it is not a
  // secret) can lock the real service out from elsewhere.
  await db.schema
    .createTable("client_auth_guards")
    .addColumn("key", "text", (col) => col.primaryKey())
    .addColumn("failures", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("locked_until", "timestamptz")
    .addColumn("last_failure_at", "timestamptz")
    .addColumn("updated_at", "timestamptz", (col) => col.notNull())
    .execute();
  await db.schema.createIndex("client_auth_guards_updated_at").on("client_auth_guards").column("updated_at").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("client_auth_guards").execute();
  await db.schema.dropTable("service_accounts").execute();
}
