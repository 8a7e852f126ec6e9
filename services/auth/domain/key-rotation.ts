import type { Kysely } from "kysely";
import type { AuthDatabase } from "../store/schema.js";
import {
  findNewestSigningKey,
  lockSigningKeys,
  retireNewestSigningKey,
  upsertNewestSigningKey,
} from "../store/signing-key-store.js";
import { generateKeyMaterial, privateKeyDer, type KeyMaterial, type SigningAlgorithm } from "./key-material.js";

export interface RotationResult {
  kid: string;
  /** When instances start signing with the new key (and the old one is retired). */
  activatesAt: Date;
}

/**
 * Rotates the signing key of a database-kept key set: a new key is published at once and signs
 * from `now + activateAfterMs`; the old key is retired at that same moment and stays published
 * until its last token has expired (see key-ring.ts). The delay lets every instance (which re-read
 * keys every JWT_KEY_REFRESH_INTERVAL) and every JWKS cache (Cache-Control max-age) learn the new
 * public key before any token signed with it exists. Safe to run from several places at once: key
 * changes are serialised by an advisory lock.
 */
export async function rotateSigningKey(
  db: Kysely<AuthDatabase>,
  options: { now: Date; activateAfterMs: number; alg?: SigningAlgorithm },
): Promise<RotationResult> {
  const material = generateKeyMaterial(options.alg);
  const activatesAt = new Date(options.now.getTime() + options.activateAfterMs);
  await db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx);
    await retireNewestSigningKey(trx, activatesAt);
    await upsertNewestSigningKey(trx, {
      kid: material.kid,
      alg: material.alg,
      publicJwk: material.publicJwk,
      privateKey: privateKeyDer(material),
      createdAt: options.now,
      activatesAt,
      retiredAt: null,
    });
  });
  return { kid: material.kid, activatesAt };
}

/**
 * Makes the key from JWT_PRIVATE_KEY the newest key unless it already is. Its private half is never
 * stored; its public half is, so that a later key change keeps it published until its tokens expire.
 */
export async function adoptConfiguredKey(db: Kysely<AuthDatabase>, key: KeyMaterial, now: Date): Promise<void> {
  if ((await findNewestSigningKey(db))?.kid === key.kid) return;
  await db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx);
    if ((await findNewestSigningKey(trx))?.kid === key.kid) return;
    await retireNewestSigningKey(trx, now);
    await upsertNewestSigningKey(trx, {
      kid: key.kid,
      alg: key.alg,
      publicJwk: key.publicJwk,
      privateKey: null,
      createdAt: now,
      activatesAt: now,
      retiredAt: null,
    });
  });
}
