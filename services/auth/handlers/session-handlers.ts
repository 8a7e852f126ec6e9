import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { RefreshService } from "../domain/refresh-service.js";
import { tokenPairToProto } from "./convert.js";

export function createSessionHandlers(deps: { refresh: RefreshService }): Pick<ServiceImpl<typeof AuthService>, "refreshToken"> {
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
  };
}
