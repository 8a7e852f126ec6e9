import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { UnauthenticatedError, UnavailableError } from "../errors/domain-errors.js";
import type { Principal, VerifiedIdentifier } from "./principal.js";

/**
 * The access token's claims beyond the registered ones (iss, aud, sub, exp, iat, jti):
 * `sid` session, `did` device, `roles`, and the identifiers the auth service has verified for the
 * subject, so the user service can trust them without a call back.
 */
export interface AccessTokenClaims extends JWTPayload {
  sid: string;
  did: string;
  roles: string[];
  phone?: string;
  phone_verified?: boolean;
  email?: string;
  email_verified?: boolean;
  /** "access": a refresh token or any other JWT we might mint can never pass as an access token. */
  typ: "access";
}

/** Algorithms we sign with; anything else (notably "none" and HS*) is refused before any key lookup. */
export const accessTokenAlgorithms = ["EdDSA", "ES256"];

export interface AccessTokenVerifier {
  /** The principal of a valid token, or UnauthenticatedError. Does not check revocation. */
  verify(token: string): Promise<Principal>;
}

/**
 * Verifies access tokens locally against a key set: the auth service's own keys, or its JWKS fetched
 * over HTTP (jose's createRemoteJWKSet caches it and refetches on an unknown `kid`).
 */
export function createAccessTokenVerifier(options: {
  keys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  clockToleranceSeconds?: number;
}): AccessTokenVerifier {
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, options.keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: accessTokenAlgorithms,
          clockTolerance: options.clockToleranceSeconds ?? 5,
          requiredClaims: ["sub", "sid", "did", "jti", "exp", "iat"],
          typ: "at+jwt",
        }));
      } catch (error) {
        if (isKeySetUnreachable(error)) {
          throw new UnavailableError("token keys cannot be fetched right now; retry shortly", "JWKS_UNAVAILABLE", { cause: error });
        }
        throw new UnauthenticatedError(describeFailure(error), "ACCESS_TOKEN_INVALID");
      }
      return principalFromClaims(payload as AccessTokenClaims, token);
    },
  };
}

function principalFromClaims(claims: AccessTokenClaims, token: string): Principal {
  if (claims.typ !== "access" || !Array.isArray(claims.roles)) {
    throw new UnauthenticatedError("not an access token", "ACCESS_TOKEN_INVALID");
  }
  const identifier = (value: unknown, verified: unknown): VerifiedIdentifier | undefined =>
    typeof value === "string" ? { value, verified: verified === true } : undefined;
  return {
    userId: claims.sub!,
    sessionId: claims.sid,
    deviceId: claims.did,
    tokenId: claims.jti!,
    roles: claims.roles.filter((role): role is string => typeof role === "string"),
    phone: identifier(claims.phone, claims.phone_verified),
    email: identifier(claims.email, claims.email_verified),
    expiresAt: new Date(claims.exp! * 1000),
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
