import { randomUUID } from "node:crypto";
import type { AccessTokenClaims } from "../../shared/auth/access-token.js";
import type { IdentifierType } from "../../shared/identifiers.js";
import { signAccessTokenJwt } from "./jws.js";
import type { KeyRing } from "./key-ring.js";
import type { SessionAuthentication } from "./session-authentication.js";

/** An identifier a user holds; every identifier the auth service holds was proven with a code. */
export interface UserIdentifier {
  type: IdentifierType;
  identifier: string;
}

export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
  deviceId: string;
  identifiers: UserIdentifier[];
  /** The session's last active authentication, as auth_time and amr; null: the token carries none. */
  authentication: SessionAuthentication | null;
}

export interface IssuedAccessToken {
  token: string;
  expiresAt: Date;
  /** Lifetime in whole seconds, as TokenPair.expires_in says. */
  expiresIn: number;
}

export interface AccessTokenIssuerOptions {
  keys: Pick<KeyRing, "signingKey">;
  issuer: string;
  audience: string;
  lifetimeMs: number;
  /** Normalised identifiers whose users get the "admin" role. */
  adminIdentifiers: ReadonlySet<string>;
}

export type AccessTokenIssuer = ReturnType<typeof createAccessTokenIssuer>;

/** Signs people's access tokens with exactly the claims services/shared/auth/access-token.ts verifies. */
export function createAccessTokenIssuer(options: AccessTokenIssuerOptions) {
  const lifetimeSeconds = Math.floor(options.lifetimeMs / 1000);

  function rolesFor(identifiers: UserIdentifier[]): string[] {
    return identifiers.some((id) => options.adminIdentifiers.has(id.identifier)) ? ["user", "admin"] : ["user"];
  }

  /** Signs a token for `subject`, expiring after the configured lifetime or at `notAfter`, whichever is first. */
  function issue(subject: AccessTokenSubject, now: Date, notAfter?: Date): IssuedAccessToken {
    const key = options.keys.signingKey();
    const issuedAt = Math.floor(now.getTime() / 1000);
    const expiresAt =
      notAfter === undefined
        ? issuedAt + lifetimeSeconds
        : Math.max(issuedAt, Math.min(issuedAt + lifetimeSeconds, Math.floor(notAfter.getTime() / 1000)));
    const phone = subject.identifiers.find((id) => id.type === "phone");
    const email = subject.identifiers.find((id) => id.type === "email");
    const claims: AccessTokenClaims = {
      iss: options.issuer,
      sub: subject.userId,
      aud: options.audience,
      iat: issuedAt,
      exp: expiresAt,
      jti: randomUUID(),
      sid: subject.sessionId,
      did: subject.deviceId,
      roles: rolesFor(subject.identifiers),
      typ: "access",
      ...(phone && { phone: phone.identifier, phone_verified: true }),
      ...(email && { email: email.identifier, email_verified: true }),
      ...(subject.authentication && {
        auth_time: Math.floor(subject.authentication.time.getTime() / 1000),
        amr: subject.authentication.methods,
      }),
    };
    return {
      token: signAccessTokenJwt(key, claims),
      expiresAt: new Date(expiresAt * 1000),
      expiresIn: expiresAt - issuedAt,
    };
  }

  return { issue, rolesFor };
}
