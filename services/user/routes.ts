import type { ConnectRouter } from "@connectrpc/connect";
import { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import type { ModerationService } from "./domain/moderation-service.js";
import type { ProfileService } from "./domain/profile-service.js";
import type { PublicDirectory } from "./domain/public-directory.js";
import { createAdminHandlers } from "./handlers/admin-handlers.js";
import { createDirectoryHandlers } from "./handlers/directory-handlers.js";
import { createProfileHandlers } from "./handlers/profile-handlers.js";

export interface UserHandlerDeps {
  profiles: ProfileService;
  moderation: ModerationService;
  directory: PublicDirectory;
}

/** Every UserService RPC, by area: the caller's own profile, looking others up, administration. */
export function createUserRoutes(deps: UserHandlerDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(UserService, {
      ...createProfileHandlers(deps),
      ...createDirectoryHandlers(deps),
      ...createAdminHandlers(deps),
    });
  };
}
