import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { SessionService } from "../domain/session-service.js";

export function createTokenHandlers(deps: {
  sessionService: SessionService;
}): Pick<ServiceImpl<typeof AuthService>, "validateToken"> {
  return {
    async validateToken(request) {
      const result = await deps.sessionService.validate(request.accessToken);
      // An invalid token is an answer (valid = false, the rest empty), not an error.
      if (!result) return { valid: false };
      return {
        valid: true,
        userId: result.userId,
        sessionId: result.sessionId,
        deviceId: result.deviceId,
        expiresAt: timestampFromDate(result.expiresAt),
        roles: result.roles,
        authTime: result.authTime && timestampFromDate(result.authTime),
        amr: result.amr,
        clientId: result.clientId,
        scopes: result.scopes,
      };
    },
  };
}
