import type { HandlerContext } from "@connectrpc/connect";
import { requirePrincipal } from "../../shared/auth/principal.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { Caller } from "../domain/profile-service.js";

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
