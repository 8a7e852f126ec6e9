import { sign } from "node:crypto";
import type { KeyMaterial } from "./key-material.js";

/**
 * Signs a JWT as a JWS in compact form (RFC 7515) with header `alg`, `kid` and `typ: at+jwt` (RFC
 * 9068): every token this service signs is an access token, a person's or a service account's.
 * Signed with node:crypto directly rather than jose's SignJWT: the same JWS (ES256 signatures in IEEE
 * P1363 form), about four times cheaper per token on the sign-in and refresh path.
 */
export function signAccessTokenJwt(key: Pick<KeyMaterial, "alg" | "kid" | "privateKey">, claims: object): string {
  const header = { alg: key.alg, kid: key.kid, typ: "at+jwt" };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature =
    key.alg === "ES256"
      ? sign("sha256", Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: "ieee-p1363" })
      : sign(null, Buffer.from(signingInput), key.privateKey);
  return `${signingInput}.${signature.toString("base64url")}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}
