import { createHash, randomBytes } from "node:crypto";

/**
 * Opaque bearer tokens (verification and refresh tokens, and the challenge ids that name one-time
 * codes): a short prefix that says what the token is
 * (so secret scanners and people can tell them apart) and 256 random bits, base64url. Only the
 * SHA-256 of the whole string is stored: with 256 bits of entropy a fast hash is as good as a slow
 * one, and a database dump yields nothing that can be presented.
 */
export type TokenKind = "verification" | "refresh" | "challenge";

const prefixes: Record<TokenKind, string> = { verification: "mvt_", refresh: "mrt_", challenge: "mch_" };

export interface OpaqueToken {
  token: string;
  hash: Uint8Array;
}

export function newOpaqueToken(kind: TokenKind): OpaqueToken {
  const token = prefixes[kind] + randomBytes(32).toString("base64url");
  return { token, hash: hashOpaqueToken(token) };
}

export function hashOpaqueToken(token: string): Uint8Array {
  return createHash("sha256").update(token).digest();
}

/** Whether `token` has the shape of a token of this kind: anything else is refused without a lookup. */
export function looksLikeToken(kind: TokenKind, token: string): boolean {
  return token.length === prefixes[kind].length + 43 && token.startsWith(prefixes[kind]);
}
