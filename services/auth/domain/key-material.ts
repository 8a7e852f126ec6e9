import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { guaranteed } from "../../shared/guaranteed.js";

/**
 * Access tokens are signed with ES256 (ECDSA P-256) by default. Ed25519 ("EdDSA") is accepted from
 * JWT_PRIVATE_KEY too. ES256 because every JWT library and every browser's WebCrypto verifies it,
 * and on this stack it is also the faster of the two (node:crypto signs ~23k/s, jose verifies
 * ~5-8k/s per core); Ed25519's deterministic signatures matter less with a sound CSPRNG.
 */
export type SigningAlgorithm = "ES256" | "EdDSA";

/** Public JWK members (RFC 7517/7518): kty, crv, x and, for EC, y. */
export type PublicJwk = Record<string, string>;

export interface KeyMaterial {
  /** RFC 7638 thumbprint of the public key: the same key gets the same kid on every instance. */
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: PublicJwk;
  privateKey: KeyObject;
}

export function generateKeyMaterial(alg: SigningAlgorithm = "ES256"): KeyMaterial {
  const { privateKey } =
    alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519");
  return fromPrivateKey(privateKey);
}

/** Reads a PKCS#8 PEM (JWT_PRIVATE_KEY). Throws with a readable message for anything else. */
export function keyMaterialFromPem(pem: string): KeyMaterial {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem.replace(/\\n/g, "\n"), format: "pem" });
  } catch (error) {
    throw new Error("JWT_PRIVATE_KEY: not a PEM private key", { cause: error });
  }
  return fromPrivateKey(key);
}

export function keyMaterialFromDer(der: Uint8Array): KeyMaterial {
  return fromPrivateKey(createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" }));
}

export function privateKeyDer(material: KeyMaterial): Uint8Array {
  return material.privateKey.export({ format: "der", type: "pkcs8" });
}

function fromPrivateKey(privateKey: KeyObject): KeyMaterial {
  const alg = algorithmOf(privateKey);
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  const x = guaranteed(jwk.x, "Node exports an EC or OKP public key as a JWK with x");
  const publicJwk: PublicJwk =
    alg === "ES256"
      ? { kty: "EC", crv: "P-256", x, y: guaranteed(jwk.y, "Node exports an EC public key as a JWK with y") }
      : { kty: "OKP", crv: "Ed25519", x };
  return { kid: thumbprint(publicJwk), alg, publicJwk, privateKey };
}

function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  if (key.asymmetricKeyType === "ed25519") return "EdDSA";
  throw new Error("JWT_PRIVATE_KEY: only P-256 (ES256) and Ed25519 (EdDSA) keys are supported");
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, base64url. */
function thumbprint(jwk: PublicJwk): string {
  const members = jwk.kty === "EC" ? ["crv", "kty", "x", "y"] : ["crv", "kty", "x"];
  const canonical = JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]])));
  return createHash("sha256").update(canonical).digest("base64url");
}
