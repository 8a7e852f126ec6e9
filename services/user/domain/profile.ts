// The user record as the domain sees it: plain values, no proto or row types. Enumerations are
// lower-case words (the same words the database stores).

export const lifecycleStates = [
  "registered",
  "onboarding",
  "active",
  "creator",
  "dormant",
  "suspended",
  "banned",
  "deleted",
] as const;
export type LifecycleState = (typeof lifecycleStates)[number];

export type UserStatus = "active" | "suspended" | "banned" | "deleted";
export type KycStatus = "not_started" | "pending" | "verified" | "rejected" | "expired";
export type Gender = "male" | "female" | "non_binary" | "other" | "prefer_not_to_say";
export type AgeBracket = "under_18" | "18_24" | "25_34" | "35_44" | "45_54" | "55_64" | "65_plus";

export interface UserProfile {
  id: string;
  phone: string | null;
  email: string | null;
  phoneVerified: boolean;
  emailVerified: boolean;

  username: string;
  name: string;
  avatarUrl: string | null;
  bio: string | null;
  gender: Gender | null;
  ageBracket: AgeBracket | null;
  /** YYYY-MM-DD. */
  dateOfBirth: string | null;
  location: string | null;
  interests: string[];

  status: UserStatus;
  lifecycleState: LifecycleState;
  isCreator: boolean;
  suspendedAt: Date | null;
  suspendedUntil: Date | null;
  suspensionReason: string | null;
  bannedAt: Date | null;
  banReason: string | null;
  /** Why an administrator moved the user to its current lifecycle state (UpdateLifecycleState). */
  lifecycleReason: string | null;

  kycStatus: KycStatus;
  kycTier: number;
  canEarn: boolean;
  canWithdraw: boolean;

  referralCode: string;
  referredByCode: string | null;
  referredByUserId: string | null;

  registrationDeviceId: string | null;
  registrationIp: string | null;
  registrationSource: string | null;
  profileCompletionPercent: number;
  lastActiveAt: Date | null;

  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  version: number;
}

/** The fields a person edits with UpdateMe. */
export interface ProfileFields {
  name: string;
  avatarUrl: string | null;
  bio: string | null;
  gender: Gender | null;
  ageBracket: AgeBracket | null;
  dateOfBirth: string | null;
  location: string | null;
  interests: string[];
}

/**
 * Record fields and their names in mintcoin.user.v1.User, as user.profile.updated names them.
 * Bookkeeping (updated_at, version) and tracking that is not a change of the profile
 * (last_active_at) are left out: they never make an event on their own.
 */
const announcedFields = {
  phone: "phone",
  email: "email",
  phoneVerified: "phone_verified",
  emailVerified: "email_verified",
  username: "username",
  name: "name",
  avatarUrl: "avatar_url",
  bio: "bio",
  gender: "gender",
  ageBracket: "age_bracket",
  dateOfBirth: "date_of_birth",
  location: "location",
  interests: "interests",
  status: "status",
  lifecycleState: "lifecycle_state",
  isCreator: "is_creator",
  suspendedAt: "suspended_at",
  suspendedUntil: "suspended_until",
  suspensionReason: "suspension_reason",
  bannedAt: "banned_at",
  banReason: "ban_reason",
  lifecycleReason: "lifecycle_reason",
  kycStatus: "kyc_status",
  kycTier: "kyc_tier",
  canEarn: "can_earn",
  canWithdraw: "can_withdraw",
  referralCode: "referral_code",
  referredByCode: "referred_by_code",
  referredByUserId: "referred_by_user_id",
  profileCompletionPercent: "profile_completion_percent",
  deletedAt: "deleted_at",
} as const satisfies Partial<Record<keyof UserProfile, string>>;

/** The User field names whose values differ between two versions of a record, in record order. */
export function changedFields(before: UserProfile, after: UserProfile): string[] {
  const changed: string[] = [];
  for (const [key, wireName] of Object.entries(announcedFields) as [keyof typeof announcedFields, string][]) {
    if (!sameValue(before[key], after[key])) changed.push(wireName);
  }
  return changed;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => item === b[index]);
  }
  return a === b;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** User ids are the auth service's UUIDs; anything else (a service's subject) has no profile. */
export function isUserId(value: string): boolean {
  return uuidPattern.test(value);
}
