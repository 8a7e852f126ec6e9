import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { outboxRow, type OutboxRow } from "../../shared/outbox/outbox-rows.js";
import type { UserProfile } from "../domain/profile.js";
import { kycStatusToProto, lifecycleStateToProto, publicUserToProto } from "../wire.js";

// The user service's events, built from domain values as outbox rows that the domain writes in the
// transaction of the change they announce. Private values (phone, email, reasons of others) stay
// out of the profile-wide events: they carry the public view and the names of what changed.

export function profileCreatedEvent(now: Date, user: UserProfile): OutboxRow {
  return outboxRow(now, "user.profile.created", {
    userId: user.id,
    profile: publicUserToProto(user),
    lifecycleState: lifecycleStateToProto(user.lifecycleState),
    referralCode: user.referralCode,
    referredByCode: user.referredByCode ?? "",
    referredByUserId: user.referredByUserId ?? "",
    registrationSource: user.registrationSource ?? "",
    registrationDeviceId: user.registrationDeviceId ?? "",
    phoneVerified: user.phoneVerified,
    emailVerified: user.emailVerified,
    profileCompletionPercent: user.profileCompletionPercent,
    version: BigInt(user.version),
  });
}

export function profileUpdatedEvent(
  now: Date,
  user: UserProfile,
  changedFields: string[],
  actorUserId: string,
): OutboxRow {
  return outboxRow(now, "user.profile.updated", {
    userId: user.id,
    changedFields,
    profile: publicUserToProto(user),
    lifecycleState: lifecycleStateToProto(user.lifecycleState),
    profileCompletionPercent: user.profileCompletionPercent,
    actorUserId,
    version: BigInt(user.version),
  });
}

export function userSuspendedEvent(now: Date, user: UserProfile, actorUserId: string): OutboxRow {
  return outboxRow(now, "user.suspended", {
    userId: user.id,
    reason: user.suspensionReason ?? "",
    suspendedAt: user.suspendedAt ? timestampFromDate(user.suspendedAt) : undefined,
    suspendedUntil: user.suspendedUntil ? timestampFromDate(user.suspendedUntil) : undefined,
    actorUserId,
    version: BigInt(user.version),
  });
}

export function userUnsuspendedEvent(now: Date, user: UserProfile, actorUserId: string): OutboxRow {
  return outboxRow(now, "user.unsuspended", {
    userId: user.id,
    lifecycleState: lifecycleStateToProto(user.lifecycleState),
    actorUserId,
    version: BigInt(user.version),
  });
}

export function userBannedEvent(now: Date, user: UserProfile, actorUserId: string): OutboxRow {
  return outboxRow(now, "user.banned", {
    userId: user.id,
    reason: user.banReason ?? "",
    bannedAt: user.bannedAt ? timestampFromDate(user.bannedAt) : undefined,
    actorUserId,
    version: BigInt(user.version),
  });
}

export function userDeletedEvent(now: Date, user: UserProfile, actorUserId: string): OutboxRow {
  return outboxRow(now, "user.deleted", {
    userId: user.id,
    reason: user.lifecycleReason ?? "",
    deletedAt: user.deletedAt ? timestampFromDate(user.deletedAt) : undefined,
    actorUserId,
    version: BigInt(user.version),
  });
}

/** `before` is the record the change was made to: the event tells what the verification was too. */
export function userKycUpdatedEvent(now: Date, user: UserProfile, actorUserId: string, before: UserProfile): OutboxRow {
  return outboxRow(now, "user.kyc.updated", {
    userId: user.id,
    kycStatus: kycStatusToProto(user.kycStatus),
    kycTier: user.kycTier,
    previousKycStatus: kycStatusToProto(before.kycStatus),
    previousKycTier: before.kycTier,
    actorUserId,
    version: BigInt(user.version),
  });
}
