import type { Kysely } from "kysely";
import type { AuthDatabase } from "./schema.js";

/** A key as stored: sealed under the key-encryption key (domain/key-encryption.ts), or in the clear. */
export interface StoredSecret {
  bytes: Uint8Array;
  encrypted: boolean;
}

/**
 * Returns the secret called `name`, creating it with `generate()` if no instance has yet. The insert
 * races harmlessly: whichever instance inserts first wins, and everyone reads the winner.
 */
export async function getOrCreateSecret(
  db: Kysely<AuthDatabase>,
  name: string,
  generate: () => StoredSecret,
): Promise<StoredSecret> {
  const generated = generate();
  await db
    .insertInto("server_secrets")
    .values({ name, value: generated.bytes, value_encrypted: generated.encrypted })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const row = await db
    .selectFrom("server_secrets")
    .select(["value", "value_encrypted"])
    .where("name", "=", name)
    .executeTakeFirstOrThrow();
  return { bytes: row.value, encrypted: row.value_encrypted };
}

export async function listSecrets(db: Kysely<AuthDatabase>): Promise<Array<{ name: string; value: StoredSecret }>> {
  const rows = await db.selectFrom("server_secrets").select(["name", "value", "value_encrypted"]).execute();
  return rows.map((row) => ({ name: row.name, value: { bytes: row.value, encrypted: row.value_encrypted } }));
}

export async function replaceSecret(db: Kysely<AuthDatabase>, name: string, value: StoredSecret): Promise<void> {
  await db
    .updateTable("server_secrets")
    .set({ value: value.bytes, value_encrypted: value.encrypted })
    .where("name", "=", name)
    .execute();
}
