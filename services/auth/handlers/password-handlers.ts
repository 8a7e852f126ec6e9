import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requirePrincipal } from "../../shared/auth/principal.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { PasswordLogin } from "../domain/password-login.js";
import type { PasswordService } from "../domain/password-service.js";
import { identifierTypeFromProto } from "../wire.js";
import { tokenPairToProto } from "./convert.js";

export function createPasswordHandlers(deps: {
  passwords: PasswordService;
  passwordLogin: PasswordLogin;
}): Pick<ServiceImpl<typeof AuthService>, "setPassword" | "loginWithPassword" | "resetPassword"> {
  return {
    async setPassword(request, context) {
      const me = requirePrincipal(context);
      const caller = context.values.get(requestInfoKey);
      await deps.passwords.setPassword(
        {
          userId: me.userId,
          sessionId: me.sessionId,
          authTime: me.authTime,
          ip: caller.ip,
          userAgent: caller.userAgent,
        },
        request.verificationToken,
        request.password,
      );
      return {};
    },

    async loginWithPassword(request, context) {
      const caller = context.values.get(requestInfoKey);
      const result = await deps.passwordLogin.login({
        identifierType: identifierTypeFromProto(request.identifierType),
        identifier: request.identifier,
        password: request.password,
        deviceId: request.deviceId,
        deviceName: request.deviceName,
        ip: caller.ip,
        userAgent: caller.userAgent,
      });
      return {
        tokens: tokenPairToProto(result.tokens),
        userId: result.userId,
        sessionId: result.sessionId,
        newUser: false,
        stepUpRequired: result.stepUpRequired,
      };
    },

    async resetPassword(request, context) {
      const caller = context.values.get(requestInfoKey);
      await deps.passwords.resetPassword(
        { ip: caller.ip, userAgent: caller.userAgent },
        request.verificationToken,
        request.newPassword,
      );
      return {};
    },
  };
}
