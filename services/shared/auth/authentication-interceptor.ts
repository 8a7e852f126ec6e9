import type { Interceptor } from "@connectrpc/connect";
import { UnauthenticatedError } from "../errors/domain-errors.js";
import type { AccessTokenVerifier } from "./access-token.js";
import {
  isServicePrincipal,
  type Principal,
  principalKey,
  servicePrincipalKey,
  type VerifiedCaller,
} from "./principal.js";

export interface AuthenticationOptions {
  verifier: AccessTokenVerifier;
  /** Methods callable without a token, as "Service/Method" names, e.g. "mintcoin.auth.v1.AuthService/SendOtp". */
  publicMethods: ReadonlySet<string>;
  /**
   * Whether a session was revoked (known from auth.session.revoked events, so no database round
   * trip). A token of a revoked session is refused even before it expires. A service account's
   * token has no session and is not asked about: its short life bounds it (docs/product.md).
   */
  isSessionRevoked?: (sessionId: string) => boolean | Promise<boolean>;
  /**
   * A last say on a person's verified, unrevoked token: resolves to let it through, rejects with the
   * refusal (session-admission.ts: the user service's checks while its revocation feed is not
   * current). A service account's token is not asked about, as for isSessionRevoked.
   */
  admit?: (principal: Principal) => Promise<void>;
}

/**
 * Puts the verified caller in `ctx.values`: a person under principalKey, a service account under
 * servicePrincipalKey (so code written for people never mistakes a service for one). Every method needs a bearer token except
 * the ones listed as public; on a public method a valid token still sets the principal (it may change
 * the answer), and a bad one is ignored rather than refused. Health and reflection are public on every server.
 */
export function createAuthenticationInterceptor(options: AuthenticationOptions): Interceptor {
  async function authenticate(header: string): Promise<VerifiedCaller> {
    const token = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim())?.[1];
    if (!token)
      throw new UnauthenticatedError(
        "the authorization header must be `Bearer <access token>`",
        "ACCESS_TOKEN_INVALID",
      );
    const principal = await options.verifier.verify(token);
    // A service account's token has no session: nothing to find revoked, nothing to admit.
    if (isServicePrincipal(principal)) return principal;
    // The revocation list answers in memory (a boolean): awaited only when the database is asked.
    const revoked = options.isSessionRevoked?.(principal.sessionId) ?? false;
    if (revoked === true || (revoked !== false && (await revoked))) {
      throw new UnauthenticatedError("this session has been signed out; sign in again", "SESSION_REVOKED");
    }
    await options.admit?.(principal);
    return principal;
  }

  // Whether a method is public, decided once per method rather than by building its name per call.
  const publicByMethod = new WeakMap<object, boolean>();
  const isPublicMethod = (service: string, method: object, name: string): boolean => {
    let isPublic = publicByMethod.get(method);
    if (isPublic === undefined) {
      isPublic =
        options.publicMethods.has(`${service}/${name}`) ||
        service === "grpc.health.v1.Health" ||
        service.startsWith("grpc.reflection.");
      publicByMethod.set(method, isPublic);
    }
    return isPublic;
  };

  // Not async itself: a call without a token (health checks, public methods) goes on without a
  // promise of its own; a refusal is thrown to the caller, as the validation interceptor throws.
  return (next) => (request) => {
    const isPublic = isPublicMethod(request.service.typeName, request.method, request.method.name);
    const header = request.header.get("authorization");
    if (!header) {
      if (isPublic) return next(request);
      throw new UnauthenticatedError("this call needs `authorization: Bearer <access token>`", "ACCESS_TOKEN_MISSING");
    }
    return authenticate(header).then(
      (caller) => {
        if (isServicePrincipal(caller)) request.contextValues.set(servicePrincipalKey, caller);
        else request.contextValues.set(principalKey, caller);
        return next(request);
      },
      (error: unknown) => {
        if (!isPublic) throw error;
        return next(request);
      },
    );
  };
}
