import type { Kysely } from "kysely";
import type { AuthDatabase } from "../store/schema.js";
import {
  findNewestSigningKey,
  lockSigningKeys,
  retireNewestSigningKey,
  upsertNewestSigningKey,
} from "../store/signing-key-store.js";
import { generateKeyMaterial, privateKeyDer, type KeyMaterial, type SigningAlgorithm } from "./key-material.js";
import { signingKeyContext, type KeyVault } from "./key-vault.js";

export interface RotationResult {
  kid: string;
  /** When instances start signing with the new key (and the old one is retired). */
  activatesAt: Date;
}

/** Seconds a verifier may cache the JWKS (its Cache-Control max-age, handlers/jwks-route.ts). */
export const jwksMaxAgeSeconds = 300;

/**
 * The shortest activation delay that is safe: an instance learns of a new key within its key refresh
 * interval and only then publishes it, and a verifier that fetched the JWKS just before may keep that
 * copy for the JWKS max-age. A verifier that refetches on an unknown `kid` (jose, the user service)
 * is covered too, as long as its cooldown (AUTH_JWKS_COOLDOWN, 30 s) is shorter than the max-age.
 */
export function leastActivationDelayMs(refreshIntervalMs: number): number {
  return refreshIntervalMs + jwksMaxAgeSeconds * 1000;
}

/** JWT_KEY_ROTATION_INTERVAL and JWT_KEY_ACTIVATION_DELAY. */
export interface RotationSchedule {
  /** How long each key signs. */
  intervalMs: number;
  /** How long a new key is published before it signs. */
  activationDelayMs: number;
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
  options: { now: Date; activateAfterMs: number; vault: KeyVault; alg?: SigningAlgorithm },
): Promise<RotationResult> {
  const activatesAt = new Date(options.now.getTime() + options.activateAfterMs);
  return db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx);
    return publishSuccessor(trx, { ...options, activatesAt });
  });
}

/**
 * A key's successor is due when the key has signed for the interval minus the activation delay:
 * published then, it starts signing exactly one interval after its predecessor did.
 */
export function rotationDue(newestActivatesAt: Date, now: Date, schedule: RotationSchedule): boolean {
  return newestActivatesAt.getTime() + schedule.intervalMs - schedule.activationDelayMs <= now.getTime();
}

/**
 * The scheduled rotation, run by every instance of a database-kept key set: the first to take the
 * key-change lock once the newest key is due publishes its successor; the others, re-reading the
 * newest key under the lock, find it not due and do nothing. The successor signs one interval after
 * the newest key started to (after a long stop, the full activation delay from now), and every
 * instance switches at that moment by reading its activation time. A newest key that lives only in
 * JWT_PRIVATE_KEY is the operator's to rotate and is left alone.
 */
export async function rotateWhenDue(
  db: Kysely<AuthDatabase>,
  options: { now: Date; schedule: RotationSchedule; vault: KeyVault },
): Promise<RotationResult | undefined> {
  const { now, schedule } = options;
  return db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx);
    const newest = await findNewestSigningKey(trx);
    if (!newest?.stored || !rotationDue(newest.activatesAt, now, schedule)) return undefined;
    const activatesAt = new Date(
      Math.max(newest.activatesAt.getTime() + schedule.intervalMs, now.getTime() + schedule.activationDelayMs),
    );
    return publishSuccessor(trx, { now, activatesAt, vault: options.vault });
  });
}

/** Inside the key-change lock: publishes a new key that signs from `activatesAt`, when the newest one retires. */
async function publishSuccessor(
  trx: Kysely<AuthDatabase>,
  options: { now: Date; activatesAt: Date; vault: KeyVault; alg?: SigningAlgorithm },
): Promise<RotationResult> {
  const material = generateKeyMaterial(options.alg);
  await retireNewestSigningKey(trx, options.activatesAt);
  await upsertNewestSigningKey(trx, {
    kid: material.kid,
    alg: material.alg,
    publicJwk: material.publicJwk,
    privateKey: options.vault.seal(signingKeyContext(material.kid), privateKeyDer(material)),
    createdAt: options.now,
    activatesAt: options.activatesAt,
    retiredAt: null,
  });
  return { kid: material.kid, activatesAt: options.activatesAt };
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
