import { serviceScopes } from "../../shared/auth/scopes.js";
import type { HttpRoute } from "../../shared/server/rpc-handler.js";
import { jwksMaxAgeSeconds } from "../domain/key-rotation.js";

/** RFC 8414 section 3: where the metadata of an issuer without a path lives. */
export const metadataPathPrefix = "/.well-known/oauth-authorization-server";

/**
 * The issuer (JWT_ISSUER) as an authorization server's identifier (RFC 8414 section 2): an http(s) URL
 * without query or fragment (https in production; http for a machine of one's own), or undefined
 * when it is not one (the default "mintcoin-auth" is a name, not a URL).
 */
export function issuerUrl(issuer: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return undefined;
  }
  const plain = !url.search && !url.hash && !url.username && !url.password && !issuer.includes("#");
  return (url.protocol === "https:" || url.protocol === "http:") && plain ? url : undefined;
}

/** The metadata's path for this issuer: the well-known prefix, then the issuer's own path (section 3.1). */
export function metadataPath(issuer: URL): string {
  const path = issuer.pathname.replace(/\/+$/, "");
  return `${metadataPathPrefix}${path}`;
}

/**
 * The authorization server metadata (RFC 8414 section 2). `issuer` is JWT_ISSUER exactly, the `iss`
 * of every token (section 3.3: a client refuses metadata whose issuer is not the one it asked), and
 * the endpoints are under it: the token endpoint and the JWKS this service serves.
 */
export function authorizationServerMetadata(issuer: string) {
  const base = issuer.replace(/\/+$/, "");
  return {
    issuer,
    token_endpoint: `${base}/oauth2/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    grant_types_supported: ["client_credentials"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    scopes_supported: [...serviceScopes],
    // Required by section 2, and honestly empty: there is no authorization endpoint.
    response_types_supported: [],
  };
}

/** GET /.well-known/oauth-authorization-server: the metadata, as any OAuth client library discovers it. */
export function createMetadataRoute(issuer: string): HttpRoute {
  const body = JSON.stringify(authorizationServerMetadata(issuer));
  return (_request, response) => {
    response.writeHead(200, {
      "content-type": "application/json",
      "cache-control": `public, max-age=${jwksMaxAgeSeconds}`,
      "content-length": Buffer.byteLength(body),
    });
    response.end(body);
  };
}

/** What the metadata path answers while JWT_ISSUER is not a URL: how to turn it on. */
export const metadataOffRoute: HttpRoute = (_request, response) => {
  const text =
    "no OAuth 2.0 metadata: JWT_ISSUER is not a URL; set it to this service's public URL (https://...) to publish it\n";
  response.writeHead(404, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
  response.end(text);
};
