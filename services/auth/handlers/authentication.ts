import type { Interceptor } from "@connectrpc/connect";
import { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { AccessTokenVerifier } from "../../shared/auth/access-token.js";
import { createAuthenticationInterceptor } from "../../shared/auth/authentication-interceptor.js";
import type { SessionService } from "../domain/session-service.js";

/** AuthService RPCs callable without an access token (their credential, if any, is in the request). */
export const publicAuthMethods: ReadonlySet<string> = new Set(
  [
    "SendOtp",
    "VerifyOtp",
    "Login",
    "RefreshToken",
    "ValidateToken",
    "GetJwks",
    "LoginWithPassword",
    "ResetPassword",
    "IssueServiceToken",
  ].map((method) => `${AuthService.typeName}/${method}`),
);

/**
 * The shared bearer-token interceptor with the auth service's own keys. Revocation is known from
 * the auth.session.revoked feed this instance follows, with no database round trip, and read from
 * the database while that feed is not caught up or NATS is not configured
 * (domain/revocation-awareness.ts).
 */
export function createAuthServiceAuthentication(deps: {
  verifier: AccessTokenVerifier;
  sessionService: SessionService;
}): Interceptor {
  return createAuthenticationInterceptor({
    verifier: deps.verifier,
    publicMethods: publicAuthMethods,
    isSessionRevoked: deps.sessionService.isSessionRevoked,
  });
}
