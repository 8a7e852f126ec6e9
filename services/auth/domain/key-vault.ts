import { ConfigError } from "../../shared/config/env.js";
import type { StoredSecret } from "../store/secret-store.js";
import { openUnder, sealedUnder, sealUnder, type KeyEncryptionKey } from "./key-encryption.js";

/** The key-encryption keys from the configuration (KEY_ENCRYPTION_KEY, KEY_ENCRYPTION_KEY_PREVIOUS). */
export interface KeyEncryptionKeys {
  current?: KeyEncryptionKey;
  /** Only while the KEK is being replaced: what was sealed under it is still read, and sealed again. */
  previous?: KeyEncryptionKey;
}

/**
 * How the auth service stores the keys it generates: sealed under the current key-encryption key
 * when there is one, else in the clear (allowed outside production only: config.ts). Opening what it
 * cannot is a configuration error naming KEY_ENCRYPTION_KEY, so start-up stops with exit code 78.
 *
 * Once a KEK is configured, a key in the clear is read only to be sealed, by the start-up reseal
 * (reseal-stored-keys.ts, openToReseal): open() refuses it. A clear row that appears later (written
 * by an instance started without the KEK, or by hand) is a key anyone with a copy of the database
 * holds, so it must never sign here nor be published (key-ring.ts refuses such a reload).
 */
export interface KeyVault {
  /** The id of the KEK keys are sealed under; undefined when they are stored in the clear. */
  readonly kekId: string | undefined;
  seal(context: string, plaintext: Uint8Array): StoredSecret;
  /** The key in `stored`; throws for one it cannot open, and for one in the clear while a KEK is set. */
  open(context: string, stored: StoredSecret): Uint8Array;
  /** As open(), but a key in the clear is returned too: only to seal it under the KEK at once. */
  openToReseal(context: string, stored: StoredSecret): Uint8Array;
  /** True when `stored` is in the clear while a KEK is configured: a key open() refuses. */
  refusesInTheClear(stored: StoredSecret): boolean;
  /** True when `stored` is what seal() stores now; false for a key in the clear or under the previous KEK. */
  isCurrent(stored: StoredSecret): boolean;
}

/** The row a stored key belongs to, authenticated with it (a ciphertext does not open in another row). */
export const signingKeyContext = (kid: string) => `signing_keys/${kid}`;
export const secretContext = (name: string) => `server_secrets/${name}`;

export function createKeyVault(keys: KeyEncryptionKeys): KeyVault {
  const { current, previous } = keys;
  const refusesInTheClear = (stored: StoredSecret) => current !== undefined && !stored.encrypted;

  function openToReseal(context: string, stored: StoredSecret): Uint8Array {
    if (!stored.encrypted) return stored.bytes;
    const under = sealedUnder(stored.bytes);
    const kek = [current, previous].find((candidate) => candidate && candidate.id === under);
    if (!kek) throw keyEncryptionError(cannotOpen(under, current));
    try {
      return openUnder(kek, stored.bytes, context);
    } catch {
      throw keyEncryptionError(
        `${context} does not open under key-encryption key ${kek.id}: the row was altered or copied from another row`,
      );
    }
  }

  return {
    kekId: current?.id,
    seal(context, plaintext) {
      return current
        ? { bytes: sealUnder(current, plaintext, context), encrypted: true }
        : { bytes: plaintext, encrypted: false };
    },
    open(context, stored) {
      if (refusesInTheClear(stored)) {
        throw keyEncryptionError(
          `${context} is stored in the clear although a key-encryption key is set: refused (only start-up seals such a key)`,
        );
      }
      return openToReseal(context, stored);
    },
    openToReseal,
    refusesInTheClear,
    isCurrent(stored) {
      return current ? stored.encrypted && sealedUnder(stored.bytes) === current.id : !stored.encrypted;
    },
  };
}

function cannotOpen(under: string | undefined, current: KeyEncryptionKey | undefined): string {
  const sealedBy = under ? `key-encryption key ${under}` : "a key-encryption key";
  if (!current) return `unset, but the keys stored in the database are encrypted under ${sealedBy}: set it`;
  return (
    `the keys stored in the database are encrypted under ${sealedBy}, not under this one (${current.id}): ` +
    "set the key they were encrypted with (or, while replacing it, set that one as KEY_ENCRYPTION_KEY_PREVIOUS)"
  );
}

/** Laid out as parseEnv lays out its errors, so both read alike. The value is never in it. */
function keyEncryptionError(problem: string): ConfigError {
  return new ConfigError(`invalid configuration:\n  KEY_ENCRYPTION_KEY: ${problem}`);
}
