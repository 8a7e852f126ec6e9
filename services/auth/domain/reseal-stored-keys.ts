import type { Kysely } from "kysely";
import type { Logger } from "../../shared/logging.js";
import type { AuthDatabase } from "../store/schema.js";
import { listSecrets, replaceSecret, type StoredSecret } from "../store/secret-store.js";
import { listStoredPrivateKeys, lockSigningKeys, replacePrivateKey } from "../store/signing-key-store.js";
import { secretContext, signingKeyContext, type KeyVault } from "./key-vault.js";

/**
 * Brings the keys stored in the database in line with the key-encryption key, at start and before
 * the rotation command writes a key: keys stored in the clear (by versions before encryption, or
 * before KEY_ENCRYPTION_KEY was set) and keys sealed under KEY_ENCRYPTION_KEY_PREVIOUS are sealed
 * under KEY_ENCRYPTION_KEY, in one transaction under the key-change lock, so instances starting
 * together do it once. A key it cannot open stops start-up with a configuration error, as does an
 * encrypted key when no KEK is configured. Migrations cannot do this: they run without the KEK.
 */
export async function resealStoredKeys(db: Kysely<AuthDatabase>, vault: KeyVault, logger: Logger): Promise<void> {
  const resealed = await db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx);
    const stored = [
      ...(await listStoredPrivateKeys(trx)).map((key) => ({
        context: signingKeyContext(key.kid),
        value: key.privateKey,
        replace: (value: StoredSecret) => replacePrivateKey(trx, key.kid, value),
      })),
      ...(await listSecrets(trx)).map((secret) => ({
        context: secretContext(secret.name),
        value: secret.value,
        replace: (value: StoredSecret) => replaceSecret(trx, secret.name, value),
      })),
    ];
    const stale = stored.filter((key) => !vault.isCurrent(key.value));
    for (const key of stale) {
      const plaintext = vault.openToReseal(key.context, key.value);
      if (vault.kekId) await key.replace(vault.seal(key.context, plaintext));
    }
    return vault.kekId ? stale.map((key) => key.context) : [];
  });
  if (resealed.length > 0) {
    logger.info({ keys: resealed, kekId: vault.kekId }, "stored keys encrypted under KEY_ENCRYPTION_KEY");
  }
}
