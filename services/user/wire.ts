import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AgeBracket,
  Gender,
  KycStatus,
  LifecycleState,
  PublicUserSchema,
  UserSchema,
  UserStatus,
  type PublicUser,
  type User,
} from "../../gen/mintcoin/user/v1/user_pb.js";
import { InvalidArgumentError } from "../shared/errors/domain-errors.js";
import type * as domain from "./domain/profile.js";

// Conversions between the wire's messages and enums and the domain's values, for the handlers and
// the events alike. The .proto rules already refuse undefined enum numbers; the throws here are the
// last line, not the first.

const lifecycleStates: [domain.LifecycleState, LifecycleState][] = [
  ["registered", LifecycleState.REGISTERED],
  ["onboarding", LifecycleState.ONBOARDING],
  ["active", LifecycleState.ACTIVE],
  ["creator", LifecycleState.CREATOR],
  ["dormant", LifecycleState.DORMANT],
  ["suspended", LifecycleState.SUSPENDED],
  ["banned", LifecycleState.BANNED],
  ["deleted", LifecycleState.DELETED],
];

const statuses: [domain.UserStatus, UserStatus][] = [
  ["active", UserStatus.ACTIVE],
  ["suspended", UserStatus.SUSPENDED],
  ["banned", UserStatus.BANNED],
  ["deleted", UserStatus.DELETED],
];

const kycStatuses: [domain.KycStatus, KycStatus][] = [
  ["not_started", KycStatus.NOT_STARTED],
  ["pending", KycStatus.PENDING],
  ["verified", KycStatus.VERIFIED],
  ["rejected", KycStatus.REJECTED],
  ["expired", KycStatus.EXPIRED],
];

const genders: [domain.Gender, Gender][] = [
  ["male", Gender.MALE],
  ["female", Gender.FEMALE],
  ["non_binary", Gender.NON_BINARY],
  ["other", Gender.OTHER],
  ["prefer_not_to_say", Gender.PREFER_NOT_TO_SAY],
];

const ageBrackets: [domain.AgeBracket, AgeBracket][] = [
  ["under_18", AgeBracket.AGE_BRACKET_UNDER_18],
  ["18_24", AgeBracket.AGE_BRACKET_18_24],
  ["25_34", AgeBracket.AGE_BRACKET_25_34],
  ["35_44", AgeBracket.AGE_BRACKET_35_44],
  ["45_54", AgeBracket.AGE_BRACKET_45_54],
  ["55_64", AgeBracket.AGE_BRACKET_55_64],
  ["65_plus", AgeBracket.AGE_BRACKET_65_PLUS],
];

function toWire<D, W>(pairs: [D, W][], value: D, fallback: W): W {
  return pairs.find(([domainValue]) => domainValue === value)?.[1] ?? fallback;
}

function fromWire<D, W>(pairs: [D, W][], value: W): D | undefined {
  return pairs.find(([, wireValue]) => wireValue === value)?.[0];
}

export const lifecycleStateToProto = (state: domain.LifecycleState) =>
  toWire(lifecycleStates, state, LifecycleState.UNSPECIFIED);

export function lifecycleStateFromProto(state: LifecycleState): domain.LifecycleState {
  const value = fromWire(lifecycleStates, state);
  if (!value)
    throw new InvalidArgumentError("state", "state: must be one of the LifecycleState values other than UNSPECIFIED");
  return value;
}

export const kycStatusToProto = (status: domain.KycStatus) => toWire(kycStatuses, status, KycStatus.UNSPECIFIED);

export function kycStatusFromProto(status: KycStatus): domain.KycStatus {
  const value = fromWire(kycStatuses, status);
  if (!value) throw new InvalidArgumentError("kyc_status", "kyc_status: not a KycStatus value");
  return value;
}

/** UNSPECIFIED means "not given" (null). */
export function genderFromProto(gender: Gender): domain.Gender | null {
  if (gender === Gender.UNSPECIFIED) return null;
  const value = fromWire(genders, gender);
  if (!value) throw new InvalidArgumentError("gender", "gender: not a Gender value");
  return value;
}

export function ageBracketFromProto(bracket: AgeBracket): domain.AgeBracket | null {
  if (bracket === AgeBracket.AGE_BRACKET_UNSPECIFIED) return null;
  const value = fromWire(ageBrackets, bracket);
  if (!value) throw new InvalidArgumentError("age_bracket", "age_bracket: not an AgeBracket value");
  return value;
}

const timestamp = (date: Date | null) => (date ? timestampFromDate(date) : undefined);

/** The private view: for the user themself and for admins. */
export function userToProto(user: domain.UserProfile): User {
  return create(UserSchema, {
    id: user.id,
    phone: user.phone ?? "",
    email: user.email ?? "",
    phoneVerified: user.phoneVerified,
    emailVerified: user.emailVerified,
    username: user.username,
    name: user.name,
    avatarUrl: user.avatarUrl ?? "",
    bio: user.bio ?? "",
    gender: user.gender ? toWire(genders, user.gender, Gender.UNSPECIFIED) : Gender.UNSPECIFIED,
    ageBracket: user.ageBracket
      ? toWire(ageBrackets, user.ageBracket, AgeBracket.AGE_BRACKET_UNSPECIFIED)
      : AgeBracket.AGE_BRACKET_UNSPECIFIED,
    dateOfBirth: user.dateOfBirth ?? "",
    location: user.location ?? "",
    interests: user.interests,
    status: toWire(statuses, user.status, UserStatus.UNSPECIFIED),
    lifecycleState: lifecycleStateToProto(user.lifecycleState),
    isCreator: user.isCreator,
    suspendedAt: timestamp(user.suspendedAt),
    suspendedUntil: timestamp(user.suspendedUntil),
    suspensionReason: user.suspensionReason ?? "",
    bannedAt: timestamp(user.bannedAt),
    banReason: user.banReason ?? "",
    lifecycleReason: user.lifecycleReason ?? "",
    kycStatus: toWire(kycStatuses, user.kycStatus, KycStatus.UNSPECIFIED),
    kycTier: user.kycTier,
    canEarn: user.canEarn,
    canWithdraw: user.canWithdraw,
    referralCode: user.referralCode,
    referredByCode: user.referredByCode ?? "",
    referredByUserId: user.referredByUserId ?? "",
    registrationDeviceId: user.registrationDeviceId ?? "",
    registrationIp: user.registrationIp ?? "",
    registrationSource: user.registrationSource ?? "",
    profileCompletionPercent: user.profileCompletionPercent,
    lastActiveAt: timestamp(user.lastActiveAt),
    createdAt: timestampFromDate(user.createdAt),
    updatedAt: timestampFromDate(user.updatedAt),
    deletedAt: timestamp(user.deletedAt),
    version: BigInt(user.version),
  });
}

/** What anyone signed in may see: no contact data, no KYC beyond the status, no moderation. */
export function publicUserToProto(user: domain.UserProfile): PublicUser {
  return create(PublicUserSchema, {
    id: user.id,
    username: user.username,
    name: user.name,
    avatarUrl: user.avatarUrl ?? "",
    bio: user.bio ?? "",
    isCreator: user.isCreator,
    kycStatus: toWire(kycStatuses, user.kycStatus, KycStatus.UNSPECIFIED),
  });
}
