import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requirePrincipal } from "../../shared/auth/principal.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { RefreshService } from "../domain/refresh-service.js";
import type { SessionService } from "../domain/session-service.js";
import { sessionToProto, tokenPairToProto } from "./convert.js";

type SessionRpcs = "refreshToken" | "logout" | "revokeSession" | "revokeAllSessions" | "listSessions";

export function createSessionHandlers(deps: {
  refresh: RefreshService;
  sessionService: SessionService;
}): Pick<ServiceImpl<typeof AuthService>, SessionRpcs> {
  return {
    async refreshToken(request, context) {
      const caller = context.values.get(requestInfoKey);
      const tokens = await deps.refresh.refresh({
        refreshToken: request.refreshToken,
        deviceId: request.deviceId,
        ip: caller.ip,
        userAgent: caller.userAgent,
      });
      return { tokens: tokenPairToProto(tokens) };
    },

    async logout(request, context) {
      await deps.sessionService.logout(
        requirePrincipal(context),
        request.sessionId,
        context.values.get(requestInfoKey),
      );
      return {};
    },

    async revokeSession(request, context) {
      await deps.sessionService.revokeSession(
        requirePrincipal(context),
        request.sessionId,
        context.values.get(requestInfoKey),
      );
      return {};
    },

    async revokeAllSessions(request, context) {
      const count = await deps.sessionService.revokeAll(
        requirePrincipal(context),
        request.keepCurrent,
        context.values.get(requestInfoKey),
      );
      return { revokedCount: count };
    },

    async listSessions(_request, context) {
      const sessions = await deps.sessionService.list(requirePrincipal(context));
      return { sessions: sessions.map(sessionToProto) };
    },
  };
}
