// Access tokens as an attacker builds them: unsigned, signed with the wrong key or algorithm, with a
// tampered payload, or signed with the real key but with claims that must not pass (expired, not
// yet valid, another audience). The real key is known here because the test configures the auth
// service with it (JWT_PRIVATE_KEY): that is what proves the claim checks, not only the signature.
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, SignJWT, type JWK, type JWTPayload } from "jose";

export interface SigningKey {
  privateKey: KeyObject;
  /** PKCS#8 PEM, for JWT_PRIVATE_KEY. */
  pem: string;
  publicJwk: JWK;
  /** SubjectPublicKeyInfo PEM of the public key: what an HS256 key-confusion attack uses as the secret. */
  publicPem: string;
  kid: string;
}

export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicKey = createPublicKey(privateKey);
  const publicJwk = publicKey.export({ format: "jwk" }) as JWK;
  return {
    privateKey,
    pem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicJwk,
    publicPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
    kid: await calculateJwkThumbprint({ kty: publicJwk.kty!, crv: publicJwk.crv!, x: publicJwk.x!, y: publicJwk.y! }),
  };
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** Signs `claims` with ES256 under `header` (kid, typ as given). */
export function signEs256(key: KeyObject, header: Record<string, unknown>, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", ...header }).sign(key);
}

export function signHs256(secret: Uint8Array, header: Record<string, unknown>, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ ...header, alg: "HS256" }).sign(secret);
}

/** `alg: none` (in several spellings), with no signature. */
export function unsigned(alg: string, header: Record<string, unknown>, claims: JWTPayload): string {
  return `${b64({ ...header, alg })}.${b64(claims)}.`;
}

/** Replaces the payload of a signed token, keeping its header and signature. */
export function withPayload(token: string, claims: JWTPayload): string {
  const [header, , signature] = token.split(".");
  return `${header}.${b64(claims)}.${signature}`;
}

/** Replaces the header of a signed token, keeping its payload and signature. */
export function withHeader(token: string, header: Record<string, unknown>): string {
  const [, payload, signature] = token.split(".");
  return `${b64(header)}.${payload}.${signature}`;
}

export function claimsOf(token: string): JWTPayload {
  return decodeJwt(token);
}

export function headerOf(token: string): Record<string, unknown> {
  return decodeProtectedHeader(token) as Record<string, unknown>;
}
