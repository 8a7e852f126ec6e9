import { createLocalJWKSet, errors, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from "jose";
import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import type { Logger } from "../../shared/logging.js";
import type { AuthDatabase } from "../store/schema.js";
import { insertFirstSigningKey, listSigningKeys, type SigningKeyRecord } from "../store/signing-key-store.js";
import { generateKeyMaterial, keyMaterialFromDer, privateKeyDer, type KeyMaterial } from "./key-material.js";
import { adoptConfiguredKey } from "./key-rotation.js";

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
}

interface PublishedKey {
  record: SigningKeyRecord;
  material: KeyMaterial | undefined;
}

export type KeyRing = Awaited<ReturnType<typeof createKeyRing>>;

/**
 * The signing keys as this instance knows them: loaded from the database at start and every
 * `refreshIntervalMs`, so all instances sign with the same key and switch to a rotated one at its
 * activation time. Signing and verifying never wait for the database.
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
      privateKey: privateKeyDer(material),
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

  async function reload(): Promise<void> {
    lastReload = Date.now();
    const now = clock.now();
    const records = await listSigningKeys(
      deps.db,
      new Date(now.getTime() - deps.accessTokenLifetimeMs - publicationMarginMs),
    );
    const known = new Map(keys.map((key) => [key.record.kid, key.material]));
    keys = records.map((record) => ({
      record,
      material:
        deps.configuredKey?.kid === record.kid
          ? deps.configuredKey
          : (known.get(record.kid) ?? (record.privateKey ? keyMaterialFromDer(record.privateKey) : undefined)),
    }));
    localSet = createLocalJWKSet(jwksAt(now));
  }

  function reloadSoon(): Promise<void> {
    reloading ??= reload().finally(() => {
      reloading = undefined;
    });
    return reloading;
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

  await reload();
  signingKey(); // fail at start, not at the first sign-in
  const timer = setInterval(() => {
    reloadSoon().catch((error: unknown) => logger.warn({ err: error }, "could not reload the signing keys"));
  }, deps.refreshIntervalMs);
  timer.unref();

  return {
    signingKey,
    /** The JWKS to publish now (current, pre-published and not yet expired retired keys). */
    jwks: () => jwksAt(clock.now()),
    verificationKey,
    reload: reloadSoon,
    close: () => clearInterval(timer),
  };
}
