import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { KeyRing } from "../domain/key-ring.js";

export function createKeyHandlers(deps: {
  keys: Pick<KeyRing, "jwks">;
}): Pick<ServiceImpl<typeof AuthService>, "getJwks"> {
  return {
    getJwks() {
      const jwks = deps.keys.jwks();
      return {
        keys: jwks.keys.map((key) => ({
          kty: key.kty ?? "",
          crv: key.crv ?? "",
          x: key.x ?? "",
          y: key.y ?? "",
          kid: key.kid ?? "",
          alg: key.alg ?? "",
          use: key.use ?? "",
        })),
        jwksJson: JSON.stringify(jwks),
      };
    },
  };
}
