import type { DescMessage } from "@bufbuild/protobuf";
import * as authEvents from "../../../gen/mintcoin/events/v1/auth_events_pb.js";
import * as notify from "../../../gen/mintcoin/events/v1/notify_pb.js";
import * as userEvents from "../../../gen/mintcoin/events/v1/user_events_pb.js";

/**
 * Every subject the identity services publish, with its one message type (docs/events.md). Emitters
 * take their subject from here and consumers decode by it, so the two cannot drift apart.
 */
export const eventCatalog = {
  "auth.otp.sent": authEvents.OtpSentSchema,
  "auth.otp.verified": authEvents.OtpVerifiedSchema,
  "auth.login": authEvents.LoginSchema,
  "auth.logout": authEvents.LogoutSchema,
  "auth.session.created": authEvents.SessionCreatedSchema,
  "auth.session.refreshed": authEvents.SessionRefreshedSchema,
  "auth.session.revoked": authEvents.SessionRevokedSchema,
  "auth.session.stepped_up": authEvents.SessionSteppedUpSchema,
  "auth.device.registered": authEvents.DeviceRegisteredSchema,
  "auth.device.trusted": authEvents.DeviceTrustedSchema,
  "auth.device.blocked": authEvents.DeviceBlockedSchema,
  "auth.device.unblocked": authEvents.DeviceUnblockedSchema,
  "auth.user.registered": authEvents.UserRegisteredSchema,
  "auth.identifier.linked": authEvents.IdentifierLinkedSchema,
  "auth.identifier.replaced": authEvents.IdentifierReplacedSchema,
  "auth.service_account.created": authEvents.ServiceAccountCreatedSchema,
  "auth.service_account.secret_rotated": authEvents.ServiceAccountSecretRotatedSchema,
  "auth.service_account.disabled": authEvents.ServiceAccountDisabledSchema,
  "user.profile.created": userEvents.ProfileCreatedSchema,
  "user.profile.updated": userEvents.ProfileUpdatedSchema,
  "user.suspended": userEvents.UserSuspendedSchema,
  "user.unsuspended": userEvents.UserUnsuspendedSchema,
  "user.banned": userEvents.UserBannedSchema,
  "user.deleted": userEvents.UserDeletedSchema,
  "user.kyc.updated": userEvents.UserKycUpdatedSchema,
  "notify.otp.sms": notify.OtpDeliveryRequestSchema,
  "notify.otp.email": notify.OtpDeliveryRequestSchema,
} as const satisfies Record<string, DescMessage>;

export type EventSubject = keyof typeof eventCatalog;

/** The message type of a subject, or undefined for a subject we do not publish. */
export function schemaForSubject(subject: string): DescMessage | undefined {
  return (eventCatalog as Record<string, DescMessage>)[subject];
}
