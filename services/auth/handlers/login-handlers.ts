import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { LoginService } from "../domain/login-service.js";
import { tokenPairToProto } from "./convert.js";

export function createLoginHandlers(deps: { login: LoginService }): Pick<ServiceImpl<typeof AuthService>, "login"> {
  return {
    async login(request, context) {
      const caller = context.values.get(requestInfoKey);
      const result = await deps.login.login({
        verificationToken: request.verificationToken,
        deviceId: request.deviceId,
        deviceName: request.deviceName,
        ip: caller.ip,
        userAgent: caller.userAgent,
      });
      return {
        tokens: tokenPairToProto(result.tokens),
        userId: result.userId,
        sessionId: result.sessionId,
        newUser: result.newUser,
        stepUpRequired: result.stepUpRequired,
      };
    },
  };
}
