import { createHash, randomBytes } from "node:crypto";

/**
 * Opaque bearer tokens (verification and refresh tokens, the challenge ids that name one-time codes,
 * service accounts' client secrets): a short prefix that says what the token is (so secret scanners
 * and people can tell them apart) and 256 random bits, base64url. Only the SHA-256 of the whole
 * string is stored: with 256 bits of entropy a fast hash is as good as a slow one (nobody can search
 * 2^256 candidates, so there is nothing for a slow hash such as argon2, made for guessable human
 * passwords, to slow down, nor for a salt to defeat), and a database dump yields nothing that can be
 * presented. A fast hash also keeps checking a client secret cheap on every token request.
 */
export type TokenKind = "verification" | "refresh" | "challenge" | "client_secret";

const prefixes: Record<TokenKind, string> = {
  verification: "mvt_",
  refresh: "mrt_",
  challenge: "mch_",
  client_secret: "mcs_",
};

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
