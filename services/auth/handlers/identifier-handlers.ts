import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requirePrincipal } from "../../shared/auth/principal.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { IdentifierLinking } from "../domain/identifier-linking.js";
import { identifierTypeToProto } from "../wire.js";

export function createIdentifierHandlers(deps: {
  identifierLinking: IdentifierLinking;
}): Pick<ServiceImpl<typeof AuthService>, "linkIdentifier"> {
  return {
    async linkIdentifier(request, context) {
      const me = requirePrincipal(context);
      const caller = context.values.get(requestInfoKey);
      const linked = await deps.identifierLinking.link(
        { userId: me.userId, deviceId: me.deviceId, ip: caller.ip, userAgent: caller.userAgent },
        request.verificationToken,
      );
      return { identifierType: identifierTypeToProto(linked.identifierType), identifier: linked.identifier };
    },
  };
}
