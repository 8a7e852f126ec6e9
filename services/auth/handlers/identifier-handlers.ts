import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requirePrincipal } from "../../shared/auth/principal.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { IdentifierLinking, LinkCaller } from "../domain/identifier-linking.js";
import type { IdentifierReplacement } from "../domain/identifier-replacement.js";
import { identifierTypeToProto } from "../wire.js";

export function createIdentifierHandlers(deps: {
  identifierLinking: IdentifierLinking;
  identifierReplacement: IdentifierReplacement;
}): Pick<ServiceImpl<typeof AuthService>, "linkIdentifier" | "replaceIdentifier"> {
  return {
    async linkIdentifier(request, context) {
      const linked = await deps.identifierLinking.link(linkCaller(context), request.verificationToken);
      return { identifierType: identifierTypeToProto(linked.identifierType), identifier: linked.identifier };
    },

    async replaceIdentifier(request, context) {
      const replaced = await deps.identifierReplacement.replace(linkCaller(context), request.verificationToken);
      return {
        identifierType: identifierTypeToProto(replaced.identifierType),
        identifier: replaced.identifier,
        previousIdentifier: replaced.previousIdentifier,
      };
    },
  };
}

function linkCaller(context: HandlerContext): LinkCaller {
  const me = requirePrincipal(context);
  const request = context.values.get(requestInfoKey);
  return {
    userId: me.userId,
    deviceId: me.deviceId,
    authTime: me.authTime,
    ip: request.ip,
    userAgent: request.userAgent,
  };
}
