import type { HandlerContext } from "@connectrpc/connect";
import { principalKey, requirePrincipal, servicePrincipalKey } from "../../shared/auth/principal.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { Caller } from "../domain/profile-service.js";
import type { Viewer } from "../domain/public-directory.js";

/** The signed-in caller as the domain wants it: token facts plus the connection's IP. */
export function callerOf(context: HandlerContext): Caller {
  const principal = requirePrincipal(context);
  return {
    userId: principal.userId,
    deviceId: principal.deviceId,
    phone: principal.phone,
    email: principal.email,
    ip: context.values.get(requestInfoKey).ip,
  };
}

/**
 * Whoever calls a public RPC: signed in when a valid token came with the call, a person's or a
 * service account's (either caller is known), anonymous otherwise.
 */
export function viewerOf(context: HandlerContext): Viewer {
  return {
    signedIn: context.values.get(principalKey) !== undefined || context.values.get(servicePrincipalKey) !== undefined,
    ip: context.values.get(requestInfoKey).ip,
  };
}
