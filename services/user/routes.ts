import type { ConnectRouter } from "@connectrpc/connect";
import { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";

/**
 * Every UserService RPC, by area. An RPC without a handler answers UNIMPLEMENTED (connect-node does
 * that for methods missing from the implementation).
 */
export function createUserRoutes(): (router: ConnectRouter) => void {
  return (router) => {
    router.service(UserService, {});
  };
}
