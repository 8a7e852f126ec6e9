import type { Kysely } from "kysely";
import type { AuthDatabase } from "./schema.js";

/**
 * Returns the secret called `name`, creating it with `generate()` if no instance has yet. The insert
 * races harmlessly: whichever instance inserts first wins, and everyone reads the winner.
 */
export async function getOrCreateSecret(
  db: Kysely<AuthDatabase>,
  name: string,
  generate: () => Uint8Array,
): Promise<Uint8Array> {
  await db
    .insertInto("server_secrets")
    .values({ name, value: generate() })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const row = await db.selectFrom("server_secrets").select("value").where("name", "=", name).executeTakeFirstOrThrow();
  return row.value;
}
