import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { systemClock, type Clock } from "../clock.js";
import { UnauthenticatedError, UnavailableError } from "../errors/domain-errors.js";
import { guaranteed } from "../guaranteed.js";
import type { Principal, ServicePrincipal, VerifiedCaller, VerifiedIdentifier } from "./principal.js";
import { parseScope } from "./scopes.js";
import { createVerifiedTokenCache } from "./verified-token-cache.js";

/**
 * The access token's claims beyond the registered ones (iss, aud, sub, exp, iat, jti):
 * `sid` session, `did` device, `roles`, the identifiers the auth service has verified for the
 * subject, so the user service can trust them without a call back, and the session's last active
 * authentication (`auth_time`, `amr`) for "authenticated within N minutes" checks.
 */
export interface AccessTokenClaims extends JWTPayload {
  sid: string;
  did: string;
  roles: string[];
  phone?: string;
  phone_verified?: boolean;
  email?: string;
  email_verified?: boolean;
  /** OpenID Connect Core `auth_time`: seconds since the epoch of the session's last active authentication. */
  auth_time?: number;
  /** RFC 8176 authentication method references of that authentication. */
  amr?: string[];
  /** "access": a refresh token or any other JWT we might mint can never pass as an access token. */
  typ: "access";
}

/**
 * The claims of a service account's token (RFC 9068 section 2.2) beyond the registered ones: it
 * speaks for a client, not a person, so it has `client_id` (equal to `sub`) and `scope` instead of
 * a session, a device and identifiers.
 */
export interface ServiceTokenClaims extends JWTPayload {
  client_id: string;
  /** Space-separated scopes (RFC 6749 section 3.3). */
  scope: string;
  roles: ["service"];
  typ: "access";
}

/** Algorithms we sign with; anything else (notably "none" and HS*) is refused before any key lookup. */
export const accessTokenAlgorithms = ["EdDSA", "ES256"];

export interface AccessTokenVerifier {
  /** The person or service account of a valid token, or UnauthenticatedError. Does not check revocation. */
  verify(token: string): Promise<VerifiedCaller>;
}

/**
 * Tokens remembered after a successful verification. A client presents the same access token on
 * every call for its whole life (15 minutes), and the ECDSA verify is most of the CPU of a cheap
 * authenticated call; 10,000 entries hold about 10 MB.
 */
export const defaultVerifiedTokenCacheSize = 10_000;

/**
 * Verifies access tokens locally against a key set: the auth service's own keys, or its JWKS fetched
 * over HTTP (jose's createRemoteJWKSet caches it and refetches on an unknown `kid`). A token verified
 * once is served from a bounded cache until its `exp` (verified-token-cache.ts): only successes are
 * cached, keyed by the whole token, so any other token, a re-signed copy included, is verified in
 * full. Revocation is not this function's business (see the authentication interceptor); keys stay
 * published until their last token has expired (key-rotation.ts), so a cached token never outlives
 * the key that signed it.
 */
export function createAccessTokenVerifier(options: {
  keys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  clockToleranceSeconds?: number;
  /** The time tokens are checked against; the system clock unless a test injects one. */
  clock?: Clock;
  /** Verified tokens remembered (least recently used goes first); 0 turns the cache off. */
  cacheSize?: number;
}): AccessTokenVerifier {
  const clock = options.clock ?? systemClock;
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  const cache = createVerifiedTokenCache({
    maxEntries: options.cacheSize ?? defaultVerifiedTokenCacheSize,
    clockToleranceSeconds: clockTolerance,
  });
  return {
    async verify(token) {
      const now = clock.now();
      const cached = cache.get(token, now);
      if (cached) return cached;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, options.keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: accessTokenAlgorithms,
          clockTolerance,
          currentDate: now,
          // sid and did are required of a person's token, client_id and scope of a service's (below).
          requiredClaims: ["sub", "jti", "exp", "iat"],
          typ: "at+jwt",
        }));
      } catch (error) {
        if (isKeySetUnreachable(error)) {
          throw new UnavailableError("token keys cannot be fetched right now; retry shortly", "JWKS_UNAVAILABLE", {
            cause: error,
          });
        }
        throw new UnauthenticatedError(describeFailure(error), "ACCESS_TOKEN_INVALID");
      }
      // jose checks iat only together with maxTokenAge. A token "issued" later than now plus the
      // tolerance was not issued by a clock we agree with: a forged or mis-signed token, refused.
      const issuedAt = guaranteed(payload.iat, "jose has checked iat: required, and a number");
      if (issuedAt > Math.floor(now.getTime() / 1000) + clockTolerance) {
        throw new UnauthenticatedError(
          "the access token was issued in the future; check the issuer's clock",
          "ACCESS_TOKEN_INVALID",
        );
      }
      const principal =
        payload.client_id === undefined
          ? principalFromClaims(payload as AccessTokenClaims, token)
          : servicePrincipalFromClaims(payload as ServiceTokenClaims, token);
      const exp = guaranteed(payload.exp, "jose has checked exp: required, and a number");
      cache.set(token, principal, { exp, nbf: payload.nbf });
      return principal;
    },
  };
}

function principalFromClaims(claims: AccessTokenClaims, token: string): Principal {
  // jose has checked that sub, jti and exp are there (and exp a number), not what sub and jti hold.
  const { sub, jti, exp } = claims;
  if (
    claims.typ !== "access" ||
    !Array.isArray(claims.roles) ||
    typeof sub !== "string" ||
    typeof jti !== "string" ||
    typeof exp !== "number"
  ) {
    throw new UnauthenticatedError("not an access token", "ACCESS_TOKEN_INVALID");
  }
  if (typeof claims.sid !== "string" || typeof claims.did !== "string") {
    throw new UnauthenticatedError("the access token has no session", "ACCESS_TOKEN_INVALID");
  }
  const identifier = (value: unknown, verified: unknown): VerifiedIdentifier | undefined =>
    typeof value === "string" ? { value, verified: verified === true } : undefined;
  return {
    userId: sub,
    sessionId: claims.sid,
    deviceId: claims.did,
    tokenId: jti,
    roles: claims.roles.filter((role): role is string => typeof role === "string"),
    phone: identifier(claims.phone, claims.phone_verified),
    email: identifier(claims.email, claims.email_verified),
    expiresAt: new Date(exp * 1000),
    authTime: typeof claims.auth_time === "number" ? new Date(claims.auth_time * 1000) : undefined,
    amr:
      typeof claims.auth_time === "number" && Array.isArray(claims.amr)
        ? claims.amr.filter((method): method is string => typeof method === "string")
        : [],
    token,
  };
}

/**
 * A service account's token: its client id must be its subject and it must carry well-formed
 * scopes and the role "service". It has no session, so nothing about it is ever revoked one by one
 * (docs/product.md, "Service accounts").
 */
function servicePrincipalFromClaims(claims: ServiceTokenClaims, token: string): ServicePrincipal {
  const scopes = typeof claims.scope === "string" ? parseScope(claims.scope) : undefined;
  // jose has checked that sub, jti and exp are there (and exp a number), not what jti holds.
  const { jti, exp } = claims;
  const isServiceToken =
    typeof jti === "string" &&
    typeof exp === "number" &&
    claims.typ === "access" &&
    typeof claims.client_id === "string" &&
    claims.client_id === claims.sub &&
    claims.sid === undefined &&
    Array.isArray(claims.roles) &&
    claims.roles.length === 1 &&
    claims.roles[0] === "service" &&
    scopes !== undefined &&
    scopes.length > 0;
  if (!isServiceToken) throw new UnauthenticatedError("not a service access token", "ACCESS_TOKEN_INVALID");
  return {
    clientId: claims.client_id,
    scopes,
    tokenId: jti,
    expiresAt: new Date(exp * 1000),
    token,
  };
}

/**
 * A failure to reach the key set (auth service down, timeout, non-200) is the server's problem, not
 * the token's: the client should retry (UNAVAILABLE), not sign in again (UNAUTHENTICATED).
 */
function isKeySetUnreachable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout) return true;
  if (!(error instanceof errors.JOSEError)) return true;
  return error.code === "ERR_JOSE_GENERIC" && /JSON Web Key Set HTTP response/.test(error.message);
}

function describeFailure(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the access token has expired; refresh it";
  if (error instanceof errors.JWTClaimValidationFailed) return `the access token is not valid here (${error.claim})`;
  return "the access token is invalid";
}
