import type { ServiceImpl } from "@connectrpc/connect";
import type { UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";
import { requirePrincipal } from "../../shared/auth/principal.js";
import type { ProfileService } from "../domain/profile-service.js";
import { publicUserToProto } from "../wire.js";

type DirectoryHandlers = Pick<
  ServiceImpl<typeof UserService>,
  "checkUsernameAvailability" | "getUser" | "getUserByUsername"
>;

/** What any signed-in caller may look up about others: public views and free usernames. */
export function createDirectoryHandlers(deps: { profiles: ProfileService }): DirectoryHandlers {
  return {
    async checkUsernameAvailability(request, context) {
      return deps.profiles.usernameAvailability(requirePrincipal(context).userId, request.username);
    },

    async getUser(request, context) {
      requirePrincipal(context);
      return { user: publicUserToProto(await deps.profiles.getPublic(request.userId)) };
    },

    async getUserByUsername(request, context) {
      requirePrincipal(context);
      return { user: publicUserToProto(await deps.profiles.getPublicByUsername(request.username)) };
    },
  };
}
