import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // The keys the service generates and keeps here (signing keys' private halves, the OTP HMAC key)
  // are stored encrypted under KEY_ENCRYPTION_KEY, the format in services/auth/domain/key-encryption.ts.
  // Rows written before were stored in the clear, and are marked so by the default. This migration
  // cannot encrypt them: it runs without the service's secrets (`npm run migrate` is a release step).
  // The service encrypts them when it starts with KEY_ENCRYPTION_KEY set (docs/configuration.md).
  await db.schema
    .alterTable("signing_keys")
    .addColumn("private_key_encrypted", "boolean", (col) => col.notNull().defaultTo(false))
    .execute();
  await db.schema
    .alterTable("server_secrets")
    .addColumn("value_encrypted", "boolean", (col) => col.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  // Encrypted values stay encrypted: code from before this migration cannot use them.
  await db.schema.alterTable("server_secrets").dropColumn("value_encrypted").execute();
  await db.schema.alterTable("signing_keys").dropColumn("private_key_encrypted").execute();
}
