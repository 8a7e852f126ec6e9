import { generateKeyPairSync } from "node:crypto";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAuthConfig } from "../../services/auth/config.js";
import { rotateSigningKey } from "../../services/auth/domain/key-rotation.js";
import { createKeyVault } from "../../services/auth/domain/key-vault.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { createAccessTokenVerifier } from "../../services/shared/auth/access-token.js";
import { startAuth, type RunningService } from "../fixtures/services.js";
import { waitFor } from "../support/index.js";
import { startAuthHarness, type AuthHarness } from "./auth-harness.js";

// Signing keys: generated once per database (or taken from JWT_PRIVATE_KEY), published as a JWKS over
// plain HTTP and GetJwks, and rotated so that a new key is published before it signs and an old one
// stays published until its tokens have expired.

const minute = 60_000;

async function fetchJwks(
  service: RunningService<AuthServiceHandle>,
): Promise<{ body: JSONWebKeySet; headers: Headers }> {
  const response = await fetch(`${service.baseUrl}/.well-known/jwks.json`);
  expect(response.status).toBe(200);
  return { body: (await response.json()) as JSONWebKeySet, headers: response.headers };
}

function sampleToken(service: RunningService<AuthServiceHandle>, identifier = "someone@example.com") {
  return service.handle.domain.accessTokens.issue(
    {
      userId: "0f8c9b4e-7d51-4c33-9a4b-6a1f8e2d3c5b",
      sessionId: "5a7d1c3e-2b4f-4e6a-8c9d-0e1f2a3b4c5d",
      deviceId: "device-1",
      identifiers: [{ type: "email", identifier }],
      authentication: null,
    },
    new Date(),
  );
}

function kidOf(token: string): string {
  return decodeProtectedHeader(token).kid!;
}

describe("signing keys and the JWKS", () => {
  let h: AuthHarness;

  beforeAll(async () => {
    h = await startAuthHarness({
      env: { JWT_KEY_REFRESH_INTERVAL: "100ms", ADMIN_IDENTIFIERS: "Boss@Example.com, +44 7911 123456" },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("serves one ES256 key with a kid at /.well-known/jwks.json over plain HTTP, cacheable", async () => {
    const { body, headers } = await fetchJwks(h.auth);
    expect(headers.get("content-type")).toBe("application/json");
    expect(headers.get("cache-control")).toBe("public, max-age=300");
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(body.keys[0]!.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.keys[0]).not.toHaveProperty("d");
  });

  it("answers GetJwks over Connect and grpc-js with the same keys as the HTTP document", async () => {
    const { body } = await fetchJwks(h.auth);
    const response = await h.client.getJwks({});
    expect(JSON.parse(response.jwksJson)).toEqual(body);
    expect(response.keys.map((key) => key.kid)).toEqual(body.keys.map((key) => key.kid));
    expect(response.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    const grpcResponse = await h.grpc.GetJwks({});
    expect((grpcResponse.keys as Array<{ kid: string }>)[0]!.kid).toBe(body.keys[0]!.kid);
  });

  it("signs access tokens that jose verifies against the JWKS fetched over HTTP", async () => {
    const { token } = sampleToken(h.auth);
    const jwks = createRemoteJWKSet(new URL(`${h.auth.baseUrl}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: "mintcoin-auth",
      audience: "mintcoin",
    });
    expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(payload).toMatchObject({
      sub: "0f8c9b4e-7d51-4c33-9a4b-6a1f8e2d3c5b",
      typ: "access",
      roles: ["user"],
      email: "someone@example.com",
      email_verified: true,
    });
    expect(payload.exp! - payload.iat!).toBe(15 * 60);

    const principal = await createAccessTokenVerifier({
      keys: jwks,
      issuer: "mintcoin-auth",
      audience: "mintcoin",
    }).verify(token);
    expect(principal).toMatchObject({
      sessionId: "5a7d1c3e-2b4f-4e6a-8c9d-0e1f2a3b4c5d",
      deviceId: "device-1",
      roles: ["user"],
    });
  });

  it("gives the admin role to identifiers listed in ADMIN_IDENTIFIERS, whatever their spelling", async () => {
    const { token } = sampleToken(h.auth, "boss@example.com");
    const jwks = createRemoteJWKSet(new URL(`${h.auth.baseUrl}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(token, jwks);
    expect(payload.roles).toEqual(["user", "admin"]);
  });

  it("generates the key once: a second instance on the same database publishes and signs with the same key", async () => {
    const second = await h.startAnother();
    const [first, other] = await Promise.all([fetchJwks(h.auth), fetchJwks(second)]);
    expect(other.body).toEqual(first.body);
    expect(kidOf(sampleToken(second).token)).toBe(first.body.keys[0]!.kid);
    const rows = await h.auth.handle.runtime.db.selectFrom("signing_keys").select("kid").execute();
    expect(rows).toHaveLength(1);
  });

  it("rotates: the new key is published first, signs on every instance from its activation, and the old one stays until its tokens expire", async () => {
    const second = await h.startAnother();
    const oldKid = kidOf(sampleToken(h.auth).token);
    const { kid: newKid } = await rotateSigningKey(h.auth.handle.runtime.db, {
      now: h.clock.now(),
      activateAfterMs: 10 * minute,
      vault: createKeyVault({}), // the harness sets no KEY_ENCRYPTION_KEY: keys are stored in the clear
    });

    // Published at once (both instances re-read keys every 100 ms here), but not signing yet.
    for (const service of [h.auth, second]) {
      await waitFor(async () => (await fetchJwks(service)).body.keys.some((key) => key.kid === newKid));
      expect(kidOf(sampleToken(service).token)).toBe(oldKid);
    }

    h.clock.advance(10 * minute);
    const tokens = [sampleToken(h.auth).token, sampleToken(second).token];
    expect(tokens.map(kidOf)).toEqual([newKid, newKid]);
    const kids = (await fetchJwks(h.auth)).body.keys.map((key) => key.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));

    // Old tokens (15 min) plus a 5 min margin later, the old key is gone.
    h.clock.advance(20 * minute);
    expect((await fetchJwks(h.auth)).body.keys.map((key) => key.kid)).toEqual([newKid]);

    const jwks = createRemoteJWKSet(new URL(`${second.baseUrl}/.well-known/jwks.json`));
    for (const token of tokens) await expect(jwtVerify(token, jwks)).resolves.toBeDefined();
  });
});

describe("a signing key from JWT_PRIVATE_KEY", () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuthHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("signs with the configured Ed25519 key and keeps the earlier generated key published until its tokens expire", async () => {
    const generatedKid = kidOf(sampleToken(h.auth).token);
    const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const withKey = await startAuth({ ...h.env, JWT_PRIVATE_KEY: pem }, { clock: h.clock, delivery: h.capture });
    try {
      const { token } = sampleToken(withKey);
      expect(decodeProtectedHeader(token).alg).toBe("EdDSA");
      const { body } = await fetchJwks(withKey);
      expect(body.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([generatedKid, kidOf(token)]));
      expect(body.keys.find((key) => key.kid === kidOf(token))).toMatchObject({
        kty: "OKP",
        crv: "Ed25519",
        alg: "EdDSA",
      });
      await expect(
        jwtVerify(token, createRemoteJWKSet(new URL(`${withKey.baseUrl}/.well-known/jwks.json`))),
      ).resolves.toBeDefined();
      // The private half of a configured key is never stored.
      const row = await h.auth.handle.runtime.db
        .selectFrom("signing_keys")
        .select("private_key")
        .where("kid", "=", kidOf(token))
        .executeTakeFirstOrThrow();
      expect(row.private_key).toBeNull();
    } finally {
      await withKey.close();
    }
  });

  it("refuses a JWT_PRIVATE_KEY that is not a P-256 or Ed25519 PEM, naming the variable", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ format: "pem", type: "pkcs8" })
      .toString();
    expect(() => loadAuthConfig({ JWT_PRIVATE_KEY: rsa })).toThrow(/JWT_PRIVATE_KEY.*P-256/s);
    expect(() => loadAuthConfig({ JWT_PRIVATE_KEY: "not a key" })).toThrow(/JWT_PRIVATE_KEY/);
    expect(() => loadAuthConfig({ ADMIN_IDENTIFIERS: "root" })).toThrow(/ADMIN_IDENTIFIERS/);
  });
});
