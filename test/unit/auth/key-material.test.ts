import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  generateKeyMaterial,
  keyMaterialFromDer,
  keyMaterialFromPem,
  privateKeyDer,
} from "../../../services/auth/domain/key-material.js";

// Signing keys: ES256 by default, Ed25519 accepted, each named by its RFC 7638 thumbprint.

const pemOf = (key: ReturnType<typeof generateKeyPairSync>["privateKey"]) =>
  key.export({ format: "pem", type: "pkcs8" }).toString();

describe("signing key material", () => {
  it("generates a P-256 key for ES256 by default, with its public JWK", () => {
    const material = generateKeyMaterial();
    expect(material.alg).toBe("ES256");
    expect(Object.keys(material.publicJwk).sort()).toEqual(["crv", "kty", "x", "y"]);
    expect(material.publicJwk).toMatchObject({ kty: "EC", crv: "P-256" });
  });

  it("names a key by its RFC 7638 thumbprint, the same on every instance that loads it", () => {
    const material = generateKeyMaterial("EdDSA");
    expect(material.alg).toBe("EdDSA");
    expect(material.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(keyMaterialFromDer(privateKeyDer(material)).kid).toBe(material.kid);
    expect(generateKeyMaterial("EdDSA").kid).not.toBe(material.kid);
  });

  it("reads a PKCS#8 PEM, also with its newlines written as \\n in one line", () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = pemOf(privateKey);
    const kid = keyMaterialFromPem(pem).kid;
    expect(keyMaterialFromPem(pem.replace(/\n/g, "\\n")).kid).toBe(kid);
  });

  it("refuses what is not a PEM private key, naming JWT_PRIVATE_KEY", () => {
    expect(() => keyMaterialFromPem("not a key")).toThrow("JWT_PRIVATE_KEY: not a PEM private key");
  });

  it("refuses curves and key types it does not sign with", () => {
    const { privateKey: p384 } = generateKeyPairSync("ec", { namedCurve: "P-384" });
    expect(() => keyMaterialFromPem(pemOf(p384))).toThrow("only P-256 (ES256) and Ed25519 (EdDSA)");
  });
});
