import { randomUUID } from "node:crypto";
import type { ServiceTokenClaims } from "../../shared/auth/access-token.js";
import type { IssuedAccessToken } from "./access-tokens.js";
import { signAccessTokenJwt } from "./jws.js";
import type { KeyRing } from "./key-ring.js";

export interface ServiceTokenIssuerOptions {
  keys: Pick<KeyRing, "signingKey">;
  issuer: string;
  audience: string;
  lifetimeMs: number;
}

export type ServiceTokenIssuer = ReturnType<typeof createServiceTokenIssuer>;

/**
 * Signs service accounts' access tokens as RFC 9068 says (section 2.2: iss, exp, aud, sub, client_id,
 * iat, jti; `scope` for the grant), with the key that signs people's tokens, so every service
 * verifies both with the one JWKS. `sub` is the client id: the token acts for no person. There is no
 * session (`sid`) to revoke, so the lifetime is short (SERVICE_TOKEN_EXPIRATION, 5 minutes): it is
 * what bounds a token after its account is disabled or its secret rotated.
 */
export function createServiceTokenIssuer(options: ServiceTokenIssuerOptions) {
  const lifetimeSeconds = Math.floor(options.lifetimeMs / 1000);

  function issue(account: { clientId: string; scope: string }, now: Date): IssuedAccessToken {
    const issuedAt = Math.floor(now.getTime() / 1000);
    const claims: ServiceTokenClaims = {
      iss: options.issuer,
      sub: account.clientId,
      aud: options.audience,
      iat: issuedAt,
      exp: issuedAt + lifetimeSeconds,
      jti: randomUUID(),
      client_id: account.clientId,
      scope: account.scope,
      roles: ["service"],
      typ: "access",
    };
    return {
      token: signAccessTokenJwt(options.keys.signingKey(), claims),
      expiresAt: new Date((issuedAt + lifetimeSeconds) * 1000),
      expiresIn: lifetimeSeconds,
    };
  }

  return { issue };
}
