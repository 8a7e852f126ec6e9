import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Access-token signing keys. The newest key (retired_at null) is unique; a rotation retires it
  // at the moment its successor activates, and a retired key stays published in the JWKS until the
  // last token it signed has expired.
  await db.schema
    .createTable("signing_keys")
    .addColumn("kid", "text", (col) => col.primaryKey())
    .addColumn("alg", "text", (col) => col.notNull())
    .addColumn("public_jwk", "jsonb", (col) => col.notNull())
    // PKCS#8 DER of a generated key; null for a key that lives only in JWT_PRIVATE_KEY.
    .addColumn("private_key", "bytea")
    .addColumn("created_at", "timestamptz", (col) => col.notNull())
    .addColumn("activates_at", "timestamptz", (col) => col.notNull())
    .addColumn("retired_at", "timestamptz")
    .execute();
  await sql`create unique index signing_keys_one_newest on signing_keys ((true)) where retired_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("signing_keys").execute();
}
