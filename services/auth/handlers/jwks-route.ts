import type { HttpRoute } from "../../shared/server/rpc-handler.js";
import type { KeyRing } from "../domain/key-ring.js";
import { jwksMaxAgeSeconds } from "../domain/key-rotation.js";

/** GET /.well-known/jwks.json: the public keys that verify access tokens, for any JOSE library. */
export function createJwksRoute(keys: Pick<KeyRing, "jwks">): HttpRoute {
  return (_request, response) => {
    const body = JSON.stringify(keys.jwks());
    response.writeHead(200, {
      "content-type": "application/json",
      "cache-control": `public, max-age=${jwksMaxAgeSeconds}`,
      "content-length": Buffer.byteLength(body),
    });
    response.end(body);
  };
}
