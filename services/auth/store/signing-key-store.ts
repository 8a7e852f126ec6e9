import { sql, type Kysely, type NotNull } from "kysely";
import type { AuthDatabase, PublicJwkColumn } from "./schema.js";
import type { StoredSecret } from "./secret-store.js";

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  publicJwk: PublicJwkColumn;
  /** PKCS#8 DER of a generated key, as stored; null for a key that lives only in JWT_PRIVATE_KEY. */
  privateKey: StoredSecret | null;
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
    privateKey: row.private_key ? { bytes: row.private_key, encrypted: row.private_key_encrypted } : null,
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

/**
 * Serialises key changes (rotation, adopting a configured key, encrypting stored keys) across
 * instances until commit.
 */
export async function lockSigningKeys(db: Kysely<AuthDatabase>): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('mintcoin-auth:signing-keys'))`.execute(db);
}

export interface NewestSigningKey {
  kid: string;
  activatesAt: Date;
  /** False for a key that lives only in JWT_PRIVATE_KEY. */
  stored: boolean;
}

export async function findNewestSigningKey(db: Kysely<AuthDatabase>): Promise<NewestSigningKey | undefined> {
  const row = await db
    .selectFrom("signing_keys")
    .select(["kid", "activates_at", sql<boolean>`private_key is not null`.as("stored")])
    .where("retired_at", "is", null)
    .executeTakeFirst();
  return row && { kid: row.kid, activatesAt: row.activates_at, stored: row.stored };
}

/** Every private key kept in the database, retired ones included. */
export async function listStoredPrivateKeys(
  db: Kysely<AuthDatabase>,
): Promise<Array<{ kid: string; privateKey: StoredSecret }>> {
  const rows = await db
    .selectFrom("signing_keys")
    .select(["kid", "private_key", "private_key_encrypted"])
    .where("private_key", "is not", null)
    .$narrowType<{ private_key: NotNull }>()
    .execute();
  return rows.map((row) => ({
    kid: row.kid,
    privateKey: { bytes: row.private_key, encrypted: row.private_key_encrypted },
  }));
}

export async function replacePrivateKey(
  db: Kysely<AuthDatabase>,
  kid: string,
  privateKey: StoredSecret,
): Promise<void> {
  await db
    .updateTable("signing_keys")
    .set({ private_key: privateKey.bytes, private_key_encrypted: privateKey.encrypted })
    .where("kid", "=", kid)
    .execute();
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
    private_key: key.privateKey?.bytes ?? null,
    private_key_encrypted: key.privateKey?.encrypted ?? false,
    created_at: key.createdAt,
    activates_at: key.activatesAt,
    retired_at: key.retiredAt,
  };
}
