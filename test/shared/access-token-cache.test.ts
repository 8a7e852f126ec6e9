import { randomUUID } from "node:crypto";
import { generateKeyPair, SignJWT, type CryptoKey, type JWTVerifyGetKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createAccessTokenVerifier } from "../../services/shared/auth/access-token.js";
import { createVerifiedTokenCache } from "../../services/shared/auth/verified-token-cache.js";
import { UnauthenticatedError } from "../../services/shared/errors/domain-errors.js";
import { manualClock } from "../fixtures/manual-clock.js";

// The verifier remembers tokens it has verified, so a client's repeated calls skip the ECDSA verify.
// A full verification asks the key set for a key; one served from the cache does not. Counting the
// key lookups tells the two apart.

const issuer = "mintcoin-auth";
const audience = "mintcoin";
const minute = 60_000;
const toleranceSeconds = 5;

let signingKey: CryptoKey;
let otherKey: CryptoKey;
let publicKey: CryptoKey;

beforeAll(async () => {
  ({ privateKey: signingKey, publicKey } = await generateKeyPair("ES256"));
  ({ privateKey: otherKey } = await generateKeyPair("ES256"));
});

function sign(
  issuedAt: Date,
  key = signingKey,
  claims: { sub?: string; sid?: string; jti?: string } = {},
): Promise<string> {
  const iat = Math.floor(issuedAt.getTime() / 1000);
  return new SignJWT({
    sid: claims.sid ?? randomUUID(),
    did: "device-1",
    roles: ["user"],
    typ: "access",
    email: "someone@example.com",
    email_verified: true,
  })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "k1" })
    .setSubject(claims.sub ?? randomUUID())
    .setJti(claims.jti ?? randomUUID())
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 15 * 60)
    .sign(key);
}

function setUp(cacheSize?: number) {
  const clock = manualClock(new Date("2026-03-01T12:00:00Z"));
  let lookups = 0;
  const keys: JWTVerifyGetKey = async () => {
    lookups++;
    return publicKey;
  };
  const verifier = createAccessTokenVerifier({
    keys,
    issuer,
    audience,
    clock,
    clockToleranceSeconds: toleranceSeconds,
    cacheSize,
  });
  return { clock, verifier, lookups: () => lookups };
}

async function rejection(promise: Promise<unknown>): Promise<UnauthenticatedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UnauthenticatedError);
  return error as UnauthenticatedError;
}

describe("verified access token cache", () => {
  it("serves a token seen before without verifying it again, as the same principal with the token it was given", async () => {
    const { clock, verifier, lookups } = setUp();
    const token = await sign(clock.now());
    const first = await verifier.verify(token);
    expect(lookups()).toBe(1);
    // A copy of the string, as a new request would bring.
    const again = await verifier.verify(Buffer.from(token).toString());
    expect(lookups()).toBe(1);
    expect(again).toStrictEqual(first);
    expect(Object.keys(again)).toEqual(Object.keys(first));
    expect(again.token).toBe(token);
  });

  it("serves a service account's token from the cache as the same service principal, keys and all", async () => {
    const { clock, verifier, lookups } = setUp();
    const iat = Math.floor(clock.now().getTime() / 1000);
    const token = await new SignJWT({
      client_id: "svc-billing",
      scope: "users.read",
      roles: ["service"],
      typ: "access",
    })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "k1" })
      .setSubject("svc-billing")
      .setJti(randomUUID())
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 5 * 60)
      .sign(signingKey);
    const first = await verifier.verify(token);
    const again = await verifier.verify(Buffer.from(token).toString());
    expect(lookups()).toBe(1);
    expect(again).toStrictEqual(first);
    expect(Object.keys(again)).toEqual(Object.keys(first));
    expect(again).toMatchObject({ clientId: "svc-billing", scopes: ["users.read"], token });
  });

  it("still expires a cached token on time: served up to exp plus the clock tolerance, refused from then on, like jwtVerify", async () => {
    const { clock, verifier, lookups } = setUp();
    const token = await sign(clock.now());
    const expiresAt = (await verifier.verify(token)).expiresAt.getTime();
    expect(expiresAt).toBe(clock.now().getTime() + 15 * minute);

    clock.set(new Date(expiresAt + toleranceSeconds * 1000 - 1000));
    await expect(verifier.verify(token)).resolves.toMatchObject({ expiresAt: new Date(expiresAt) });
    expect(lookups()).toBe(1);

    clock.set(new Date(expiresAt + toleranceSeconds * 1000));
    const error = await rejection(verifier.verify(token));
    expect(error.reason).toBe("ACCESS_TOKEN_INVALID");
    expect(error.message).toMatch(/expired/);

    // Jose's own verdict at the same two instants, with no cache at all.
    const uncached = setUp(0);
    uncached.clock.set(new Date(expiresAt + toleranceSeconds * 1000 - 1000));
    await expect(uncached.verifier.verify(token)).resolves.toBeDefined();
    uncached.clock.set(new Date(expiresAt + toleranceSeconds * 1000));
    await rejection(uncached.verifier.verify(token));
  });

  it("does not serve a token with a cached token's header and payload but another signature", async () => {
    const { clock, verifier, lookups } = setUp();
    const claims = { sub: randomUUID(), sid: randomUUID(), jti: randomUUID() };
    const genuine = await sign(clock.now(), signingKey, claims);
    await verifier.verify(genuine);

    // The same claims signed with a key that is not in the key set: header and payload are identical.
    const forged = await sign(clock.now(), otherKey, claims);
    const [header, payload, signature] = forged.split(".");
    expect(`${header}.${payload}`).toBe(genuine.split(".").slice(0, 2).join("."));
    expect(signature).not.toBe(genuine.split(".")[2]);
    const error = await rejection(verifier.verify(forged));
    expect(error.reason).toBe("ACCESS_TOKEN_INVALID");
    expect(lookups()).toBe(2);

    // Nor with the genuine signature changed in one character.
    const last = genuine.at(-2) === "A" ? "B" : "A";
    await rejection(verifier.verify(`${genuine.slice(0, -2)}${last}${genuine.at(-1)}`));
    expect(lookups()).toBe(3);
    // The genuine token is still served from the cache.
    await verifier.verify(genuine);
    expect(lookups()).toBe(3);
  });

  it("never caches a failure: a refused token is verified in full each time it comes back", async () => {
    const { clock, verifier, lookups } = setUp();
    const forged = await sign(clock.now(), otherKey);
    await rejection(verifier.verify(forged));
    await rejection(verifier.verify(forged));
    expect(lookups()).toBe(2);
  });

  it("is bounded: past its size the least recently used token goes and is verified in full again", async () => {
    const { clock, verifier, lookups } = setUp(3);
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => sign(clock.now())));
    for (const token of [a!, b!, c!]) await verifier.verify(token);
    expect(lookups()).toBe(3);
    await verifier.verify(a!); // a is now the most recently used, b the least
    expect(lookups()).toBe(3);
    await verifier.verify(d!); // evicts b
    expect(lookups()).toBe(4);
    for (const token of [a!, c!, d!]) await verifier.verify(token);
    expect(lookups()).toBe(4);
    await verifier.verify(b!);
    expect(lookups()).toBe(5);
  });

  it("never holds more entries than its bound", () => {
    const cache = createVerifiedTokenCache({ maxEntries: 100, clockToleranceSeconds: toleranceSeconds });
    const principal = {
      userId: "u",
      sessionId: "s",
      deviceId: "d",
      tokenId: "j",
      roles: ["user"],
      phone: undefined,
      email: undefined,
      expiresAt: new Date(0),
      authTime: undefined,
      amr: [],
    };
    for (let i = 0; i < 1_000; i++)
      cache.set(
        `token-${i}`,
        { ...principal, roles: ["user"], token: `token-${i}` },
        { exp: 2_000_000_000, nbf: undefined },
      );
    expect(cache.size).toBe(100);
    const now = new Date("2026-03-01T12:00:00Z");
    expect(cache.get("token-899", now)).toBeUndefined();
    expect(cache.get("token-900", now)).toMatchObject({ token: "token-900" });
  });
});
