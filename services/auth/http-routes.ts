import type { Logger } from "../shared/logging.js";
import type { HttpRoute } from "../shared/server/rpc-handler.js";
import { parseTrustedProxies } from "../shared/trusted-proxies.js";
import type { AuthDomain } from "./build-domain.js";
import type { AuthConfig } from "./config.js";
import { createJwksRoute } from "./handlers/jwks-route.js";
import {
  createMetadataRoute,
  issuerUrl,
  metadataOffRoute,
  metadataPath,
  metadataPathPrefix,
} from "./handlers/oauth-metadata-route.js";
import { createTokenRoute } from "./handlers/oauth-token-route.js";

/**
 * The auth service's plain HTTP endpoints beside its RPCs, by method and path: the JWKS, the OAuth
 * 2.0 token endpoint and the authorization server metadata (RFC 8414), published only when
 * JWT_ISSUER is a URL, since it must be the issuer's own.
 */
export function createAuthHttpRoutes(
  config: AuthConfig,
  domain: Pick<AuthDomain, "keys" | "clientCredentials">,
  logger: Logger,
): Record<string, HttpRoute> {
  const issuer = issuerUrl(config.JWT_ISSUER);
  if (!issuer) {
    logger.info(
      { issuer: config.JWT_ISSUER },
      "JWT_ISSUER is not a URL: OAuth 2.0 authorization server metadata is not published (POST /oauth2/token works)",
    );
  }
  return {
    "GET /.well-known/jwks.json": createJwksRoute(domain.keys),
    "POST /oauth2/token": createTokenRoute({
      clientCredentials: domain.clientCredentials,
      logger,
      trustedProxies: parseTrustedProxies(config.TRUSTED_PROXIES),
    }),
    ...(issuer
      ? { [`GET ${metadataPath(issuer)}`]: createMetadataRoute(config.JWT_ISSUER) }
      : { [`GET ${metadataPathPrefix}`]: metadataOffRoute }),
  };
}
