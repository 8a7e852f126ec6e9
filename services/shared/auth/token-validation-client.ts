import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { UnavailableError } from "../errors/domain-errors.js";

export interface TokenValidationClient {
  /**
   * Whether the auth service holds the token's session active (AuthService.ValidateToken). Throws
   * UnavailableError when it cannot be reached or does not answer within the timeout.
   */
  isSessionActive(token: string): Promise<boolean>;
}

/**
 * Asks the auth service about a token, for a service whose own knowledge of revocations is not
 * current (session-admission.ts). ValidateToken is public on the auth service's port: the token is
 * the credential, and the answer tells its holder only what the holder could learn by using it.
 * Connect's binary protocol over HTTP/1.1 with keep-alive: the cheapest call for the auth service
 * (its gRPC path costs about twice the CPU), through any HTTP proxy, and a lost connection is simply
 * a new one on the next call.
 */
export function createTokenValidationClient(options: { baseUrl: string; timeoutMs: number }): TokenValidationClient {
  const client = createClient(
    AuthService,
    createConnectTransport({
      baseUrl: options.baseUrl,
      httpVersion: "1.1",
      useBinaryFormat: true,
      defaultTimeoutMs: options.timeoutMs,
    }),
  );
  return {
    async isSessionActive(token) {
      try {
        return (await client.validateToken({ accessToken: token })).valid;
      } catch (error) {
        throw new UnavailableError(
          "the session cannot be checked right now; retry shortly",
          "SESSION_CHECK_UNAVAILABLE",
          { cause: error },
        );
      }
    },
  };
}
