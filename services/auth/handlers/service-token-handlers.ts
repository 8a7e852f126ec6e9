import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { ClientCredentialsGrant } from "../domain/client-credentials.js";

/** IssueServiceToken: the client credentials grant for gRPC callers (POST /oauth2/token is the same over HTTP). */
export function createServiceTokenHandlers(deps: {
  clientCredentials: ClientCredentialsGrant;
}): Pick<ServiceImpl<typeof AuthService>, "issueServiceToken"> {
  return {
    async issueServiceToken(request, context) {
      const granted = await deps.clientCredentials.grant({
        clientId: request.clientId,
        clientSecret: request.clientSecret,
        scope: request.scope,
        ip: context.values.get(requestInfoKey).ip,
      });
      return {
        accessToken: granted.accessToken,
        tokenType: "Bearer",
        expiresIn: BigInt(granted.expiresIn),
        scope: granted.scope,
      };
    },
  };
}
