import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from "node:crypto";

/**
 * The key-encryption key (KEK, KEY_ENCRYPTION_KEY) that the keys the auth service generates and
 * keeps in its database are stored under: 32 random bytes, written as 64 hex digits or in base64
 * (standard or URL-safe, padding optional), e.g. `openssl rand -base64 32`.
 *
 * Stored form, version 1: `0x01 | KEK id (8 bytes) | nonce (12) | ciphertext | tag (16)`, sealed
 * with AES-256-GCM (NIST SP 800-38D) under a random 96-bit nonce per encryption. The additional
 * authenticated data is the header (version and KEK id) and the row the value belongs to, so a
 * ciphertext moved to another row does not open. The KEK id names the KEK that sealed a value, so a
 * new KEK can take over while values sealed under the previous one are still read.
 *
 * The AES key and the id are both derived from the KEK with HKDF-SHA256 (RFC 5869) under different
 * labels: the id names the KEK without revealing anything about it or about the AES key.
 */
export interface KeyEncryptionKey {
  /** 16 hex digits, safe to log and to compare. */
  id: string;
  idBytes: Buffer;
  /** A KeyObject, so that neither logging nor inspecting it ever shows the key. */
  aesKey: KeyObject;
}

const version = 1;
const idLength = 8;
const headerLength = 1 + idLength;
const nonceLength = 12;
const tagLength = 16;

/** Reads KEY_ENCRYPTION_KEY's text. The error never repeats the text: it is a secret. */
export function parseKeyEncryptionKey(text: string): KeyEncryptionKey {
  const trimmed = text.trim();
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) bytes = Buffer.from(trimmed, "hex");
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) bytes = Buffer.from(trimmed, "base64");
  if (bytes?.length !== 32) {
    throw new Error("expected 32 random bytes as 64 hex digits or 44 base64 characters (openssl rand -base64 32)");
  }
  const idBytes = derive(bytes, "mintcoin-auth key-encryption-key id", idLength);
  return {
    id: idBytes.toString("hex"),
    idBytes,
    aesKey: createSecretKey(derive(bytes, "mintcoin-auth key encryption v1", 32)),
  };
}

function derive(kek: Buffer, label: string, length: number): Buffer {
  return Buffer.from(hkdfSync("sha256", kek, Buffer.alloc(0), Buffer.from(label), length));
}

/** Encrypts `plaintext` for the row named by `context` (e.g. "signing_keys/<kid>"). */
export function sealUnder(kek: KeyEncryptionKey, plaintext: Uint8Array, context: string): Uint8Array {
  const header = Buffer.concat([Buffer.from([version]), kek.idBytes]);
  const nonce = randomBytes(nonceLength);
  const cipher = createCipheriv("aes-256-gcm", kek.aesKey, nonce);
  cipher.setAAD(Buffer.concat([header, Buffer.from(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
}

/** The id of the KEK a stored value was sealed under, or undefined if it is not in a form we know. */
export function sealedUnder(sealed: Uint8Array): string | undefined {
  if (sealed.length < headerLength + nonceLength + tagLength || sealed[0] !== version) return undefined;
  return Buffer.from(sealed.subarray(1, headerLength)).toString("hex");
}

/**
 * Decrypts a value sealed for the row `context`. Throws if it was sealed under another KEK, for
 * another row, or altered since.
 */
export function openUnder(kek: KeyEncryptionKey, sealed: Uint8Array, context: string): Uint8Array {
  if (sealedUnder(sealed) !== kek.id) throw new Error(`not sealed under key-encryption key ${kek.id}`);
  const bytes = Buffer.from(sealed);
  const header = bytes.subarray(0, headerLength);
  const nonce = bytes.subarray(headerLength, headerLength + nonceLength);
  const decipher = createDecipheriv("aes-256-gcm", kek.aesKey, nonce);
  decipher.setAAD(Buffer.concat([header, Buffer.from(context)]));
  decipher.setAuthTag(bytes.subarray(bytes.length - tagLength));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(headerLength + nonceLength, -tagLength)), decipher.final()]);
  } catch (error) {
    throw new Error(`${context} does not open: altered, or sealed for another row`, { cause: error });
  }
}
