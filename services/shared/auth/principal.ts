import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { PermissionDeniedError, UnauthenticatedError } from "../errors/domain-errors.js";
import type { ServiceScope } from "./scopes.js";

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

/**
 * A service account calling with a token of the client credentials grant (RFC 9068, role
 * "service"): another service, not a person. It has no session, device or profile; what it may do
 * is the scopes its token carries.
 */
export interface ServicePrincipal {
  /** The service account's client id (the token's `sub` and `client_id`). */
  clientId: string;
  /** The scopes the token grants. */
  scopes: string[];
  tokenId: string;
  expiresAt: Date;
  /** The raw token; never log it. */
  token: string;
}

/** Whoever a verified access token speaks for: a person or a service account. */
export type VerifiedCaller = Principal | ServicePrincipal;

export function isServicePrincipal(caller: VerifiedCaller): caller is ServicePrincipal {
  return "clientId" in caller;
}

export const principalKey = createContextKey<Principal | undefined>(undefined, {
  description: "the verified person calling in this request, set by the authentication interceptor",
});

export const servicePrincipalKey = createContextKey<ServicePrincipal | undefined>(undefined, {
  description: "the verified service account calling in this request, set by the authentication interceptor",
});

/**
 * The person calling, or UNAUTHENTICATED. One line in a handler: `const me = requirePrincipal(ctx)`.
 * A service account's token is refused here (PERMISSION_DENIED): a person's own sessions, devices
 * and profile are not a service's to touch.
 */
export function requirePrincipal(context: HandlerContext): Principal {
  const principal = context.values.get(principalKey);
  if (principal) return principal;
  if (context.values.get(servicePrincipalKey)) {
    throw new PermissionDeniedError("this call needs a person's access token, not a service account's", "NOT_A_USER");
  }
  throw new UnauthenticatedError("this call needs `authorization: Bearer <access token>`");
}

/**
 * Who acts in an administrative call: a person whose token has the role "admin", or a service
 * account whose token carries `scope`. Returns the actor's id for the audit trail and the events
 * (the person's user id, the service's client id); PERMISSION_DENIED for anyone else.
 */
export function requireAdministrator(context: HandlerContext, scope: ServiceScope): string {
  const service = context.values.get(servicePrincipalKey);
  if (service) {
    if (service.scopes.includes(scope)) return service.clientId;
    throw new PermissionDeniedError(`this call needs a token with the scope ${scope}`, "INSUFFICIENT_SCOPE");
  }
  const person = requirePrincipal(context);
  if (!person.roles.includes("admin")) throw new PermissionDeniedError("this call needs the admin role");
  return person.userId;
}
