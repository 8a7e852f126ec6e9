import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";
import { requireRole } from "../../shared/auth/principal.js";
import type { ModerationService } from "../domain/moderation-service.js";
import { lifecycleStateFromProto, userToProto } from "../wire.js";

type AdminHandlers = Pick<
  ServiceImpl<typeof UserService>,
  | "getUserByPhone"
  | "getUserByEmail"
  | "updateLifecycleState"
  | "promoteToCreator"
  | "suspendUser"
  | "unsuspendUser"
  | "banUser"
>;

/** Administrators (role "admin") and trusted services (role "service") only. */
const actor = (context: HandlerContext) => requireRole(context, "admin", "service").userId;

export function createAdminHandlers(deps: { moderation: ModerationService }): AdminHandlers {
  const { moderation } = deps;
  return {
    async getUserByPhone(request, context) {
      actor(context);
      return { user: userToProto(await moderation.getByPhone(request.phone)) };
    },

    async getUserByEmail(request, context) {
      actor(context);
      return { user: userToProto(await moderation.getByEmail(request.email)) };
    },

    async updateLifecycleState(request, context) {
      const user = await moderation.moveLifecycle(
        actor(context),
        request.userId,
        lifecycleStateFromProto(request.state),
        request.reason,
      );
      return { user: userToProto(user) };
    },

    async promoteToCreator(request, context) {
      return { user: userToProto(await moderation.promote(actor(context), request.userId)) };
    },

    async suspendUser(request, context) {
      const until = request.suspendedUntil ? timestampDate(request.suspendedUntil) : null;
      const user = await moderation.suspendUser(actor(context), request.userId, request.reason, until);
      return { user: userToProto(user) };
    },

    async unsuspendUser(request, context) {
      return { user: userToProto(await moderation.unsuspendUser(actor(context), request.userId)) };
    },

    async banUser(request, context) {
      return { user: userToProto(await moderation.banUser(actor(context), request.userId, request.reason)) };
    },
  };
}
