import { sql, type Kysely } from "kysely";
import type { AuthDatabase, PublicJwkColumn } from "./schema.js";

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  publicJwk: PublicJwkColumn;
  privateKey: Uint8Array | null;
  createdAt: Date;
  activatesAt: Date;
  retiredAt: Date | null;
}

/** Keys still published: the newest, and retired ones retired after `retiredAfter`. */
export async function listSigningKeys(db: Kysely<AuthDatabase>, retiredAfter: Date): Promise<SigningKeyRecord[]> {
  const rows = await db
    .selectFrom("signing_keys")
    .selectAll()
    .where((eb) => eb.or([eb("retired_at", "is", null), eb("retired_at", ">", retiredAfter)]))
    .orderBy("activates_at", "desc")
    .execute();
  return rows.map((row) => ({
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    privateKey: row.private_key,
    createdAt: row.created_at,
    activatesAt: row.activates_at,
    retiredAt: row.retired_at,
  }));
}

/**
 * Inserts `key` as the newest key unless there already is one. Instances starting together race
 * here harmlessly: the unique index on the newest key lets exactly one insert win.
 */
export async function insertFirstSigningKey(db: Kysely<AuthDatabase>, key: SigningKeyRecord): Promise<void> {
  await db
    .insertInto("signing_keys")
    .values(toRow(key))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Serialises key changes (rotation, adopting a configured key) across instances until commit. */
export async function lockSigningKeys(db: Kysely<AuthDatabase>): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('mintcoin-auth:signing-keys'))`.execute(db);
}

export async function findNewestSigningKey(db: Kysely<AuthDatabase>): Promise<{ kid: string } | undefined> {
  return db.selectFrom("signing_keys").select("kid").where("retired_at", "is", null).executeTakeFirst();
}

/** Retires the newest key at `retiredAt` (which may lie in the future: the successor's activation). */
export async function retireNewestSigningKey(db: Kysely<AuthDatabase>, retiredAt: Date): Promise<void> {
  await db.updateTable("signing_keys").set({ retired_at: retiredAt }).where("retired_at", "is", null).execute();
}

/** Makes `key` the newest key, inserting it or bringing back an earlier row with the same kid. */
export async function upsertNewestSigningKey(db: Kysely<AuthDatabase>, key: SigningKeyRecord): Promise<void> {
  await db
    .insertInto("signing_keys")
    .values(toRow(key))
    .onConflict((oc) => oc.column("kid").doUpdateSet({ retired_at: null, activates_at: key.activatesAt }))
    .execute();
}

/** Deletes keys retired before `before`: no token they signed can still be valid. */
export async function deleteRetiredSigningKeys(db: Kysely<AuthDatabase>, before: Date): Promise<number> {
  const result = await db.deleteFrom("signing_keys").where("retired_at", "<", before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

function toRow(key: SigningKeyRecord) {
  return {
    kid: key.kid,
    alg: key.alg,
    public_jwk: JSON.stringify(key.publicJwk),
    private_key: key.privateKey,
    created_at: key.createdAt,
    activates_at: key.activatesAt,
    retired_at: key.retiredAt,
  };
}
