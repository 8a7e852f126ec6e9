import {
  InvalidArgumentError,
  PermissionDeniedError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
} from "../../shared/errors/domain-errors.js";
import { isDependencyUnavailable } from "../../shared/errors/unavailable.js";
import type { Logger } from "../../shared/logging.js";
import type { NodeServerResponse } from "../../shared/server/one-port-server.js";
import { readBody, RequestBodyError } from "../../shared/server/read-body.js";
import { readRequestInfo } from "../../shared/server/request-info.js";
import type { HttpRoute } from "../../shared/server/rpc-handler.js";
import type { TrustedProxies } from "../../shared/trusted-proxies.js";
import type { ClientCredentialsGrant } from "../domain/client-credentials.js";
import { invalidClient, parseTokenRequest, type OAuthError } from "./oauth-token-request.js";

/** A token request is a few hundred bytes; anything near this is not one. */
const maxTokenRequestBytes = 16 * 1024;
const bodyTimeoutMs = 10_000;

export interface TokenRouteDeps {
  clientCredentials: ClientCredentialsGrant;
  logger: Logger;
  /** Peers whose X-Forwarded-For is believed, as for the RPCs (the limits are per client address). */
  trustedProxies: TrustedProxies;
}

/**
 * POST /oauth2/token: the OAuth 2.0 client credentials grant (RFC 6749 section 4.4) over HTTP, for
 * any OAuth client library. The answer is JSON, never cached (section 5.1: Cache-Control: no-store),
 * an access token on success (5.1) or an error object (5.2): invalid_request, invalid_client (401
 * with a Basic challenge when Basic was tried or nothing was), unsupported_grant_type,
 * invalid_scope. A lockout is 429 and an unreachable database 503, both temporarily_unavailable
 * with Retry-After. invalid_grant and unauthorized_client never apply: every service account may use
 * the one grant there is, which has no grant of its own to be invalid.
 */
export function createTokenRoute(deps: TokenRouteDeps): HttpRoute {
  return async (request, response) => {
    const info = readRequestInfo(request, deps.trustedProxies);
    response.setHeader("x-request-id", info.requestId);
    const refuse = (error: OAuthError, retryAfterSeconds?: number) => {
      deps.logger.info(
        { requestId: info.requestId, ip: info.ip, error: error.error, status: error.status },
        "token request refused",
      );
      answer(
        response,
        error.status,
        { error: error.error, error_description: error.description },
        {
          ...(error.challenge && { "www-authenticate": 'Basic realm="token", charset="UTF-8"' }),
          ...(retryAfterSeconds !== undefined && { "retry-after": String(retryAfterSeconds) }),
        },
      );
    };

    const encoding = request.headers["content-encoding"];
    if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
      return refuse({
        status: 400,
        error: "invalid_request",
        description: "send the form uncompressed",
        challenge: false,
      });
    }
    let body: Buffer;
    try {
      body = await readBody(request, { maxBytes: maxTokenRequestBytes, timeoutMs: bodyTimeoutMs });
    } catch (error) {
      if (!(error instanceof RequestBodyError)) throw error;
      return refuse({ status: error.status, error: "invalid_request", description: error.message, challenge: false });
    }
    const parsed = parseTokenRequest({
      contentType: request.headers["content-type"],
      authorization: request.headers.authorization,
      body: body.toString("utf8"),
    });
    if (!parsed.ok) return refuse(parsed.error);

    const { clientId, clientSecret, scope, method } = parsed.request;
    try {
      const granted = await deps.clientCredentials.grant({ clientId, clientSecret, scope, ip: info.ip });
      deps.logger.info(
        { requestId: info.requestId, ip: info.ip, clientId, scope: granted.scope, method },
        "service token issued",
      );
      answer(response, 200, {
        access_token: granted.accessToken,
        token_type: "Bearer",
        expires_in: granted.expiresIn,
        scope: granted.scope,
      });
    } catch (error) {
      if (error instanceof UnauthenticatedError) {
        return refuse(invalidClient(method === "client_secret_basic", error.message));
      }
      if (error instanceof InvalidArgumentError || error instanceof PermissionDeniedError) {
        return refuse({ status: 400, error: "invalid_scope", description: error.message, challenge: false });
      }
      if (error instanceof RateLimitedError) {
        const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
        const description = error.message;
        return refuse({ status: 429, error: "temporarily_unavailable", description, challenge: false }, seconds);
      }
      if (error instanceof UnavailableError || isDependencyUnavailable(error)) {
        deps.logger.warn({ err: error, requestId: info.requestId }, "dependency unavailable");
        const description = "the service is temporarily unavailable; retry shortly";
        return refuse({ status: 503, error: "temporarily_unavailable", description, challenge: false }, 1);
      }
      deps.logger.error({ err: error, requestId: info.requestId }, "unexpected failure");
      const description = `internal error (request id ${info.requestId})`;
      return refuse({ status: 500, error: "server_error", description, challenge: false });
    }
  };
}

function answer(
  response: NodeServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    "content-type": "application/json;charset=UTF-8",
    "cache-control": "no-store",
    pragma: "no-cache",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}
