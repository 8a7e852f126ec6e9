import { randomBytes } from "node:crypto";
import {
  argon2id,
  hash as argon2Hash,
  needsRehash as argon2NeedsRehash,
  verify as argon2Verify,
  type HashOptions,
} from "argon2";

/** How passwords are hashed and checked: argon2id behind a small port, so tests can count the work. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Whether `password` matches `hash`; false (never a throw) for a hash that does not parse. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Whether `hash` was made with other parameters than today's (then it is re-hashed at sign-in). */
  needsRehash(hash: string): boolean;
  /**
   * A hash of a random secret nobody knows, made with today's parameters. Sign-in checks a password
   * against it when the identifier has no account or no password, so that answer costs exactly what
   * a wrong password costs.
   */
  dummyHash: string;
}

export interface Argon2Parameters {
  /** KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/**
 * OWASP Password Storage Cheat Sheet, first argon2id option: m = 19 MiB, t = 2, p = 1. 25 to 32 ms of
 * one core per hash or check, measured on the 2-core benchmark machine; argon2 runs on libuv's thread
 * pool, so it does not block the event loop.
 */
export const owaspArgon2id: Argon2Parameters = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * Passwords are NFKC-normalised before hashing (NIST SP 800-63B 5.1.1.2), so the same password
 * typed on two keyboards that compose characters differently is the same password.
 */
function normalise(password: string): string {
  return password.normalize("NFKC");
}

export async function createArgon2Hasher(parameters: Argon2Parameters = owaspArgon2id): Promise<PasswordHasher> {
  const options: HashOptions = { type: argon2id, ...parameters };
  const hash = (password: string) => argon2Hash(normalise(password), options);
  const dummyHash = await hash(randomBytes(32).toString("base64url"));
  return {
    hash,
    async verify(stored, password) {
      try {
        return await argon2Verify(stored, normalise(password));
      } catch {
        // A stored hash that does not parse: still spend the same work before saying no.
        await argon2Verify(dummyHash, normalise(password)).catch(() => false);
        return false;
      }
    },
    needsRehash(stored) {
      try {
        return argon2NeedsRehash(stored, parameters);
      } catch {
        return true;
      }
    },
    dummyHash,
  };
}
