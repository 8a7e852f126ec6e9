import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { emitEvent } from "../../shared/events/emit.js";
import type { UserProfile } from "../domain/profile.js";
import type { UserDatabase } from "../store/schema.js";
import { lifecycleStateToProto, publicUserToProto } from "../wire.js";

// The user service's events, built from domain values. Each function records one event in the
// outbox inside the caller's transaction. Private values (phone, email, reasons of others) stay
// out of the profile-wide events: they carry the public view and the names of what changed.

export function recordProfileCreated(db: Kysely<UserDatabase>, clock: Clock, user: UserProfile): Promise<string> {
  return emitEvent(db, clock, "user.profile.created", {
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

export function recordProfileUpdated(
  db: Kysely<UserDatabase>,
  clock: Clock,
  user: UserProfile,
  changedFields: string[],
  actorUserId: string,
): Promise<string> {
  return emitEvent(db, clock, "user.profile.updated", {
    userId: user.id,
    changedFields,
    profile: publicUserToProto(user),
    lifecycleState: lifecycleStateToProto(user.lifecycleState),
    profileCompletionPercent: user.profileCompletionPercent,
    actorUserId,
    version: BigInt(user.version),
  });
}

export function recordUserSuspended(
  db: Kysely<UserDatabase>,
  clock: Clock,
  user: UserProfile,
  actorUserId: string,
): Promise<string> {
  return emitEvent(db, clock, "user.suspended", {
    userId: user.id,
    reason: user.suspensionReason ?? "",
    suspendedAt: user.suspendedAt ? timestampFromDate(user.suspendedAt) : undefined,
    suspendedUntil: user.suspendedUntil ? timestampFromDate(user.suspendedUntil) : undefined,
    actorUserId,
    version: BigInt(user.version),
  });
}

export function recordUserUnsuspended(
  db: Kysely<UserDatabase>,
  clock: Clock,
  user: UserProfile,
  actorUserId: string,
): Promise<string> {
  return emitEvent(db, clock, "user.unsuspended", {
    userId: user.id,
    lifecycleState: lifecycleStateToProto(user.lifecycleState),
    actorUserId,
    version: BigInt(user.version),
  });
}

export function recordUserBanned(
  db: Kysely<UserDatabase>,
  clock: Clock,
  user: UserProfile,
  actorUserId: string,
): Promise<string> {
  return emitEvent(db, clock, "user.banned", {
    userId: user.id,
    reason: user.banReason ?? "",
    bannedAt: user.bannedAt ? timestampFromDate(user.bannedAt) : undefined,
    actorUserId,
    version: BigInt(user.version),
  });
}
