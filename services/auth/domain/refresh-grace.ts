import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import type { TokenPair } from "./sessions.js";

/**
 * The grace window of RefreshToken: a client whose response was lost retries with the token it
 * still holds and must get the very pair that replaced it, not a reuse alarm. The pair is kept
 * encrypted (AES-256-GCM) under a key derived (HKDF-SHA256) from the OLD refresh token, which the
 * database never holds (only its SHA-256, a different function of it): so the stored box is
 * readable only by someone presenting the old token, which is exactly who may have it back.
 */
const info = Buffer.from("mintcoin refresh-token grace v1");

function keyFor(oldRefreshToken: string): Buffer {
  return Buffer.from(hkdfSync("sha256", oldRefreshToken, Buffer.alloc(0), info, 32));
}

export function sealTokenPair(oldRefreshToken: string, pair: TokenPair): Uint8Array {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFor(oldRefreshToken), iv);
  const plaintext = JSON.stringify({ a: pair.accessToken, r: pair.refreshToken, e: pair.expiresIn });
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** The sealed pair, or null when the box was not sealed under this token (or was tampered with). */
export function openTokenPair(oldRefreshToken: string, box: Uint8Array): TokenPair | null {
  if (box.length < 12 + 16) return null;
  const bytes = Buffer.from(box);
  try {
    const decipher = createDecipheriv("aes-256-gcm", keyFor(oldRefreshToken), bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plaintext = Buffer.concat([
      decipher.update(bytes.subarray(12, bytes.length - 16)),
      decipher.final(),
    ]).toString("utf8");
    const { a, r, e } = JSON.parse(plaintext) as { a: string; r: string; e: number };
    return { accessToken: a, refreshToken: r, tokenType: "Bearer", expiresIn: e };
  } catch {
    return null;
  }
}
