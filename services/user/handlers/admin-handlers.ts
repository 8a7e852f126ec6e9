import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";
import { requireAdministrator } from "../../shared/auth/principal.js";
import type { ServiceScope } from "../../shared/auth/scopes.js";
import type { ModerationService } from "../domain/moderation-service.js";
import { kycStatusFromProto, lifecycleStateFromProto, userToProto } from "../wire.js";

type AdminHandlers = Pick<
  ServiceImpl<typeof UserService>,
  | "getUserByPhone"
  | "getUserByEmail"
  | "updateLifecycleState"
  | "promoteToCreator"
  | "suspendUser"
  | "unsuspendUser"
  | "banUser"
  | "updateKycStatus"
>;

/**
 * The one map of administrative RPCs to the scope a service account's token needs for them (a
 * person needs the admin role for all of them). Typed over AdminHandlers, so an administrative RPC
 * without a scope does not compile; user.proto names each RPC's scope in its comment.
 */
export const adminScopes = {
  getUserByPhone: "users.read",
  getUserByEmail: "users.read",
  updateLifecycleState: "users.moderate",
  promoteToCreator: "users.moderate",
  suspendUser: "users.moderate",
  unsuspendUser: "users.moderate",
  banUser: "users.moderate",
  updateKycStatus: "users.kyc",
} as const satisfies Record<keyof AdminHandlers, ServiceScope>;

/** The acting admin (user id) or service account (client id) of an administrative RPC, or PERMISSION_DENIED. */
const actor = (context: HandlerContext, method: keyof AdminHandlers) =>
  requireAdministrator(context, adminScopes[method]);

export function createAdminHandlers(deps: { moderation: ModerationService }): AdminHandlers {
  const { moderation } = deps;
  return {
    async getUserByPhone(request, context) {
      actor(context, "getUserByPhone");
      return { user: userToProto(await moderation.getByPhone(request.phone)) };
    },

    async getUserByEmail(request, context) {
      actor(context, "getUserByEmail");
      return { user: userToProto(await moderation.getByEmail(request.email)) };
    },

    async updateLifecycleState(request, context) {
      const user = await moderation.moveLifecycle(
        actor(context, "updateLifecycleState"),
        request.userId,
        lifecycleStateFromProto(request.state),
        request.reason,
      );
      return { user: userToProto(user) };
    },

    async promoteToCreator(request, context) {
      return { user: userToProto(await moderation.promote(actor(context, "promoteToCreator"), request.userId)) };
    },

    async suspendUser(request, context) {
      const until = request.suspendedUntil ? timestampDate(request.suspendedUntil) : null;
      const user = await moderation.suspendUser(actor(context, "suspendUser"), request.userId, request.reason, until);
      return { user: userToProto(user) };
    },

    async unsuspendUser(request, context) {
      return { user: userToProto(await moderation.unsuspendUser(actor(context, "unsuspendUser"), request.userId)) };
    },

    async banUser(request, context) {
      return { user: userToProto(await moderation.banUser(actor(context, "banUser"), request.userId, request.reason)) };
    },

    async updateKycStatus(request, context) {
      const user = await moderation.updateKyc(
        actor(context, "updateKycStatus"),
        request.userId,
        kycStatusFromProto(request.kycStatus),
        request.kycTier,
        request.reason,
      );
      return { user: userToProto(user) };
    },
  };
}
