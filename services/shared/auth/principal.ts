import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { PermissionDeniedError, UnauthenticatedError } from "../errors/domain-errors.js";

/** A verified identifier carried in the access token (the proof behind CreateUser's phone/email). */
export interface VerifiedIdentifier {
  value: string;
  verified: boolean;
}

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  userId: string;
  sessionId: string;
  deviceId: string;
  tokenId: string;
  roles: string[];
  phone: VerifiedIdentifier | undefined;
  email: VerifiedIdentifier | undefined;
  expiresAt: Date;
  /**
   * When the person last actively authenticated in this session (`auth_time`: a sign-in or a
   * step-up; refreshes keep it). Undefined when the session holds no authentication the auth
   * service vouches for (a sign-in held for step-up): see recent-authentication.ts.
   */
  authTime: Date | undefined;
  /** RFC 8176 methods of that authentication (`amr`): "otp", "pwd"; empty without authTime. */
  amr: string[];
  /** The raw token, for forwarding to another service; never log it. */
  token: string;
}

/** Roles an access token may carry. "service" is for trusted internal callers. */
export type Role = "user" | "admin" | "service";

export const principalKey = createContextKey<Principal | undefined>(undefined, {
  description: "the verified caller of this request, set by the authentication interceptor",
});

/** The caller, or UNAUTHENTICATED. One line in a handler: `const me = requirePrincipal(ctx)`. */
export function requirePrincipal(context: HandlerContext): Principal {
  const principal = context.values.get(principalKey);
  if (!principal) throw new UnauthenticatedError("this call needs `authorization: Bearer <access token>`");
  return principal;
}

/** The caller if they hold one of `roles`, else PERMISSION_DENIED. */
export function requireRole(context: HandlerContext, ...roles: Role[]): Principal {
  const principal = requirePrincipal(context);
  if (!roles.some((role) => principal.roles.includes(role))) {
    throw new PermissionDeniedError(`this call needs one of the roles: ${roles.join(", ")}`);
  }
  return principal;
}
