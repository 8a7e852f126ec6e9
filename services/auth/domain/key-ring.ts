import { createLocalJWKSet, errors, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from "jose";
import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import type { Logger } from "../../shared/logging.js";
import type { AuthDatabase } from "../store/schema.js";
import { insertFirstSigningKey, listSigningKeys, type SigningKeyRecord } from "../store/signing-key-store.js";
import { generateKeyMaterial, keyMaterialFromDer, privateKeyDer, type KeyMaterial } from "./key-material.js";
import { adoptConfiguredKey, rotateWhenDue, rotationDue, type RotationSchedule } from "./key-rotation.js";
import { signingKeyContext, type KeyVault } from "./key-vault.js";

/** A retired key stays published this long after its last token expired (clock skew, slow rollouts). */
export const publicationMarginMs = 5 * 60_000;
/** Fewest milliseconds between reloads caused by tokens with an unknown `kid`. */
const unknownKidReloadMs = 1_000;

export interface KeyRingDeps {
  db: Kysely<AuthDatabase>;
  clock: Clock;
  logger: Logger;
  accessTokenLifetimeMs: number;
  /** How often every instance re-reads the keys, to pick up rotations done elsewhere. */
  refreshIntervalMs: number;
  /** The key from JWT_PRIVATE_KEY; without it the keys are generated and kept in the database. */
  configuredKey?: KeyMaterial;
  /** Seals generated private keys for the database and opens them again (key-vault.ts). */
  vault: KeyVault;
  /** Scheduled rotation (JWT_KEY_ROTATION_INTERVAL); off when undefined, and with a configured key. */
  rotation?: RotationSchedule;
  /** Counts a reload refused because a key was stored in the clear while a KEK is set. */
  onReloadRefused?: () => void;
}

interface PublishedKey {
  record: SigningKeyRecord;
  material: KeyMaterial | undefined;
}

export type KeyRing = Awaited<ReturnType<typeof createKeyRing>>;

/**
 * The signing keys as this instance knows them: loaded from the database at start and every
 * `refreshIntervalMs`, so all instances sign with the same key and switch to a rotated one at its
 * activation time. Signing and verifying never wait for the database. With a rotation schedule,
 * each instance also checks at those times whether the newest key is due for a successor
 * (key-rotation.ts decides, under a lock, which instance publishes it).
 */
export async function createKeyRing(deps: KeyRingDeps) {
  const { clock, logger } = deps;
  let keys: PublishedKey[] = [];
  let localSet: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });
  let lastReload = 0;
  let reloading: Promise<void> | undefined;

  if (deps.configuredKey) {
    await adoptConfiguredKey(deps.db, deps.configuredKey, clock.now());
  } else {
    const material = generateKeyMaterial();
    const now = clock.now();
    await insertFirstSigningKey(deps.db, {
      kid: material.kid,
      alg: material.alg,
      publicJwk: material.publicJwk,
      privateKey: deps.vault.seal(signingKeyContext(material.kid), privateKeyDer(material)),
      createdAt: now,
      activatesAt: now,
      retiredAt: null,
    });
  }

  function publishedAt(record: SigningKeyRecord, now: Date): boolean {
    return (
      !record.retiredAt || record.retiredAt.getTime() + deps.accessTokenLifetimeMs + publicationMarginMs > now.getTime()
    );
  }

  /**
   * The private half of a stored key, decrypted once per instance. With a configured key no other
   * key signs here, so none is opened (and no KEK is needed for them). A key that does not open stops
   * start-up; later it is logged and left out, and this instance signs with the newest key it has.
   */
  function materialOf(record: SigningKeyRecord, known: Map<string, KeyMaterial | undefined>, atStart: boolean) {
    if (deps.configuredKey) return deps.configuredKey.kid === record.kid ? deps.configuredKey : undefined;
    const loaded = known.get(record.kid);
    if (loaded || !record.privateKey) return loaded;
    try {
      return keyMaterialFromDer(deps.vault.open(signingKeyContext(record.kid), record.privateKey));
    } catch (error) {
      if (atStart) throw error;
      logger.error({ err: error, kid: record.kid }, "cannot decrypt a signing key; signing with the newest one known");
      return undefined;
    }
  }

  async function reload(atStart = false): Promise<void> {
    lastReload = Date.now();
    const now = clock.now();
    const records = await listSigningKeys(
      deps.db,
      new Date(now.getTime() - deps.accessTokenLifetimeMs - publicationMarginMs),
    );
    // A key in the clear while a KEK is set (key-vault.ts) is refused with everything read with it:
    // the ring stays as it was, so the key neither signs nor is published (fails closed). At start,
    // just after the reseal sealed every row, one can only have been written since: start-up stops.
    const inTheClear = records
      .filter((record) => record.privateKey && deps.vault.refusesInTheClear(record.privateKey))
      .map((record) => record.kid);
    if (inTheClear.length > 0) {
      const problem = `signing keys ${inTheClear.join(", ")} are stored in the clear although KEY_ENCRYPTION_KEY is set`;
      if (atStart) throw new Error(problem);
      deps.onReloadRefused?.();
      logger.error({ kids: inTheClear }, `${problem}: refused; keeping the keys loaded before`);
      return;
    }
    const known = new Map(keys.map((key) => [key.record.kid, key.material]));
    keys = records.map((record) => ({ record, material: materialOf(record, known, atStart) }));
    localSet = createLocalJWKSet(jwksAt(now));
  }

  function reloadSoon(): Promise<void> {
    reloading ??= reload().finally(() => {
      reloading = undefined;
    });
    return reloading;
  }

  /** Publishes the newest key's successor when the schedule says so; true if it did (or another instance had). */
  async function rotateIfDue(): Promise<boolean> {
    const schedule = deps.rotation;
    const newest = keys.find((key) => !key.record.retiredAt)?.record;
    if (!schedule || deps.configuredKey || !newest?.privateKey) return false;
    if (!rotationDue(newest.activatesAt, clock.now(), schedule)) return false;
    const rotated = await rotateWhenDue(deps.db, { now: clock.now(), schedule, vault: deps.vault });
    if (rotated) {
      logger.info(
        { kid: rotated.kid, activatesAt: rotated.activatesAt.toISOString() },
        "signing key rotated on schedule: the new key is published now and signs from activatesAt",
      );
    }
    return true;
  }

  /** What every instance does every `refreshIntervalMs`: rotate if due, then re-read the keys. */
  async function refresh(): Promise<void> {
    if (await rotateIfDue()) await reload();
    else await reloadSoon();
  }

  function jwksAt(now: Date): JSONWebKeySet {
    const published: JWK[] = keys
      .filter((key) => publishedAt(key.record, now))
      .map((key) => ({ ...key.record.publicJwk, kid: key.record.kid, alg: key.record.alg, use: "sig" }));
    return { keys: published };
  }

  /**
   * The key to sign with now: the configured one, else the most recently activated key that has not
   * been retired yet. Should this instance not have seen a rotation in time, it keeps the newest key
   * it knows: that key is still published, so its tokens still verify.
   */
  function signingKey(): KeyMaterial {
    if (deps.configuredKey) return deps.configuredKey;
    const now = clock.now().getTime();
    const usable = keys.filter((key) => key.material && key.record.activatesAt.getTime() <= now);
    const active =
      usable.find((key) => !key.record.retiredAt || key.record.retiredAt.getTime() > now) ??
      usable[0] ??
      keys.find((key) => key.material);
    if (!active?.material) {
      throw new Error(
        "no signing key: the newest key lives only in another instance's JWT_PRIVATE_KEY; configure it here too",
      );
    }
    return active.material;
  }

  /** For jose's jwtVerify: our published keys; an unknown `kid` makes us re-read them first. */
  const verificationKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await localSet(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || Date.now() - lastReload < unknownKidReloadMs) throw error;
      await reloadSoon();
      return localSet(header, token);
    }
  };

  await reload(true);
  if (await rotateIfDue()) await reload(true);
  signingKey(); // fail at start, not at the first sign-in
  let refreshing = false;
  const timer = setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    refresh()
      .catch((error: unknown) => logger.warn({ err: error }, "could not reload or rotate the signing keys"))
      .finally(() => {
        refreshing = false;
      });
  }, deps.refreshIntervalMs);
  timer.unref();

  return {
    signingKey,
    /** The JWKS to publish now (current, pre-published and not yet expired retired keys). */
    jwks: () => jwksAt(clock.now()),
    verificationKey,
    reload: reloadSoon,
    /** What the timer does every `refreshIntervalMs`: rotate if due, then re-read the keys. */
    refresh,
    close: () => clearInterval(timer),
  };
}
