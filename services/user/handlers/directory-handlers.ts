import type { ServiceImpl } from "@connectrpc/connect";
import type { UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";
import { requirePrincipal } from "../../shared/auth/principal.js";
import type { ProfileService } from "../domain/profile-service.js";
import type { PublicDirectory } from "../domain/public-directory.js";
import { publicUserToProto } from "../wire.js";
import { viewerOf } from "./caller.js";

type DirectoryHandlers = Pick<
  ServiceImpl<typeof UserService>,
  "checkUsernameAvailability" | "getUser" | "getUserByUsername"
>;

/** Looking others up: public views for anyone (no token needed), free usernames for signed-in callers. */
export function createDirectoryHandlers(deps: {
  profiles: ProfileService;
  directory: PublicDirectory;
}): DirectoryHandlers {
  return {
    async checkUsernameAvailability(request, context) {
      return deps.profiles.usernameAvailability(requirePrincipal(context).userId, request.username);
    },

    async getUser(request, context) {
      return { user: publicUserToProto(await deps.directory.byId(viewerOf(context), request.userId)) };
    },

    async getUserByUsername(request, context) {
      return { user: publicUserToProto(await deps.directory.byUsername(viewerOf(context), request.username)) };
    },
  };
}
