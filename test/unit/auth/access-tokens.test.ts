import { createLocalJWKSet } from "jose";
import { describe, expect, it } from "vitest";
import { createAccessTokenIssuer } from "../../../services/auth/domain/access-tokens.js";
import { generateKeyMaterial, type SigningAlgorithm } from "../../../services/auth/domain/key-material.js";
import { createServiceTokenIssuer } from "../../../services/auth/domain/service-tokens.js";
import { createAccessTokenVerifier } from "../../../services/shared/auth/access-token.js";
import type { Clock } from "../../../services/shared/clock.js";
import { UnauthenticatedError } from "../../../services/shared/errors/domain-errors.js";

// The contract between the two services' halves of an access token: what the auth service signs
// (node:crypto) is what every service's verifier (jose) accepts, claim for claim, until it expires
// by the verifier's clock.

const issuedAt = new Date("2026-03-01T12:00:00Z");
const lifetimeMs = 15 * 60_000;
const subject = {
  userId: "0b7e4b8e-5d0c-4f7e-9a59-3f1f0c6f2a11",
  sessionId: "5f0f6a4e-1c1d-4a8e-9d5e-0c2b3a4d5e6f",
  deviceId: "device-1",
  identifiers: [
    { type: "phone" as const, identifier: "+447911123456" },
    { type: "email" as const, identifier: "ada@example.com" },
  ],
  authentication: null,
};

function tokenPair(alg: SigningAlgorithm = "ES256", admins: string[] = []) {
  const key = generateKeyMaterial(alg);
  const issuer = createAccessTokenIssuer({
    keys: { signingKey: () => key },
    issuer: "mintcoin-auth",
    audience: "mintcoin",
    lifetimeMs,
    adminIdentifiers: new Set(admins),
  });
  const jwks = createLocalJWKSet({ keys: [{ ...key.publicJwk, kid: key.kid, alg: key.alg }] });
  /** A verifier whose clock reads `at`, without the cache (each check is a full verification). */
  const verifierAt = (at: Date, audience = "mintcoin") => {
    const clock: Clock = { now: () => at };
    return createAccessTokenVerifier({ keys: jwks, issuer: "mintcoin-auth", audience, clock, cacheSize: 0 });
  };
  const services = createServiceTokenIssuer({
    keys: { signingKey: () => key },
    issuer: "mintcoin-auth",
    audience: "mintcoin",
    lifetimeMs: 5 * 60_000,
  });
  return { issuer, services, verifierAt };
}

async function refusalOf(check: Promise<unknown>): Promise<string> {
  try {
    await check;
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthenticatedError);
    return (error as UnauthenticatedError).message;
  }
  throw new Error("expected the token to be refused");
}

describe("access tokens", () => {
  it.each(["ES256", "EdDSA"] as const)("signed with %s are accepted with every claim", async (alg) => {
    const { issuer, verifierAt } = tokenPair(alg);
    const issued = issuer.issue(subject, issuedAt);
    expect(await verifierAt(issuedAt).verify(issued.token)).toMatchObject({
      userId: subject.userId,
      sessionId: subject.sessionId,
      deviceId: subject.deviceId,
      roles: ["user"],
      phone: { value: "+447911123456", verified: true },
      email: { value: "ada@example.com", verified: true },
      expiresAt: issued.expiresAt,
      token: issued.token,
    });
  });

  it("carry auth_time and amr only when the session holds an authentication (a refresh keeps it)", async () => {
    const { issuer, verifierAt } = tokenPair();
    const authTime = new Date("2026-03-01T11:58:00Z");
    const fresh = issuer.issue({ ...subject, authentication: { time: authTime, methods: ["otp"] } }, issuedAt);
    expect(await verifierAt(issuedAt).verify(fresh.token)).toMatchObject({ authTime, amr: ["otp"] });
    const none = issuer.issue(subject, issuedAt);
    expect(await verifierAt(issuedAt).verify(none.token)).toMatchObject({ authTime: undefined, amr: [] });
  });

  it("last the configured lifetime, in whole seconds", () => {
    const { issuer } = tokenPair();
    const issued = issuer.issue(subject, new Date("2026-03-01T12:00:00.900Z"));
    expect(issued.expiresIn).toBe(900);
    expect(issued.expiresAt).toEqual(new Date("2026-03-01T12:15:00Z"));
  });

  it("carry the admin role for a user holding an admin identifier", async () => {
    const { issuer, verifierAt } = tokenPair("ES256", ["ada@example.com"]);
    const principal = await verifierAt(issuedAt).verify(issuer.issue(subject, issuedAt).token);
    expect(principal).toMatchObject({ roles: ["user", "admin"] });
  });

  it("are accepted until less than 5 s past their expiry (the verifier's tolerance), and refused from then on", async () => {
    const { issuer, verifierAt } = tokenPair();
    const { token } = issuer.issue(subject, issuedAt);
    const at = (ms: number) => verifierAt(new Date(issuedAt.getTime() + ms));
    await expect(at(lifetimeMs - 1).verify(token)).resolves.toBeDefined();
    await expect(at(lifetimeMs + 4_999).verify(token)).resolves.toBeDefined();
    expect(await refusalOf(at(lifetimeMs + 5_000).verify(token))).toBe("the access token has expired; refresh it");
  });

  it("are refused when issued further in the future than the tolerance", async () => {
    const { issuer, verifierAt } = tokenPair();
    const { token } = issuer.issue(subject, new Date(issuedAt.getTime() + 60_000));
    expect(await refusalOf(verifierAt(issuedAt).verify(token))).toContain("issued in the future");
  });

  it("are refused by a service of another audience", async () => {
    const { issuer, verifierAt } = tokenPair();
    const { token } = issuer.issue(subject, issuedAt);
    expect(await refusalOf(verifierAt(issuedAt, "another-app").verify(token))).toContain("aud");
  });

  it("are refused when signed by a key the verifier does not know", async () => {
    const ours = tokenPair();
    const theirs = tokenPair();
    const { token } = theirs.issuer.issue(subject, issuedAt);
    await refusalOf(ours.verifierAt(issuedAt).verify(token));
  });

  it("are refused with any byte of the signed part changed", async () => {
    const { issuer, verifierAt } = tokenPair();
    const [header, payload, signature] = issuer.issue(subject, issuedAt).token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const promoted = Buffer.from(JSON.stringify({ ...claims, roles: ["user", "admin"] })).toString("base64url");
    await refusalOf(verifierAt(issuedAt).verify(`${header}.${promoted}.${signature}`));
  });
});

describe("service accounts' access tokens", () => {
  it.each(["ES256", "EdDSA"] as const)(
    "signed with %s verify as the service account with its scopes, for 5 minutes",
    async (alg) => {
      const { services, verifierAt } = tokenPair(alg);
      const issued = services.issue({ clientId: "svc_0123", scope: "users.kyc users.read" }, issuedAt);
      expect(issued.expiresIn).toBe(300);
      expect(await verifierAt(issuedAt).verify(issued.token)).toEqual({
        clientId: "svc_0123",
        scopes: ["users.kyc", "users.read"],
        tokenId: expect.any(String),
        expiresAt: new Date(issuedAt.getTime() + 300_000),
        token: issued.token,
      });
      expect(await refusalOf(verifierAt(new Date(issuedAt.getTime() + 305_000)).verify(issued.token))).toContain(
        "expired",
      );
    },
  );

  it("carry RFC 9068's claims and header and no session", () => {
    const { services } = tokenPair();
    const [header, payload] = services
      .issue({ clientId: "svc_0123", scope: "users.read" }, issuedAt)
      .token.split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
    expect(header).toMatchObject({ typ: "at+jwt", alg: "ES256" });
    expect(Object.keys(payload).sort()).toEqual(
      ["aud", "client_id", "exp", "iat", "iss", "jti", "roles", "scope", "sub", "typ"].sort(),
    );
    expect(payload).toMatchObject({ sub: "svc_0123", client_id: "svc_0123", roles: ["service"] });
  });
});
