import type { UserProfile } from "../../../services/user/domain/profile.js";

/**
 * A user record as the domain sees it: an ACTIVE user with a username, a name and nothing else
 * filled in, unless `overrides` says otherwise.
 */
export function aUser(overrides: Partial<UserProfile> = {}): UserProfile {
  const createdAt = new Date("2026-01-01T00:00:00Z");
  return {
    id: "0b7e4b8e-5d0c-4f7e-9a59-3f1f0c6f2a11",
    phone: null,
    email: null,
    phoneVerified: false,
    emailVerified: false,
    username: "ada",
    name: "Ada",
    avatarUrl: null,
    bio: null,
    gender: null,
    ageBracket: null,
    dateOfBirth: null,
    location: null,
    interests: [],
    status: "active",
    lifecycleState: "active",
    isCreator: false,
    suspendedAt: null,
    suspendedUntil: null,
    suspensionReason: null,
    bannedAt: null,
    banReason: null,
    lifecycleReason: null,
    kycStatus: "not_started",
    kycTier: 0,
    canEarn: false,
    canWithdraw: false,
    referralCode: "ADAK7M2Q",
    referredByCode: null,
    referredByUserId: null,
    registrationDeviceId: null,
    registrationIp: null,
    registrationSource: null,
    profileCompletionPercent: 20,
    lastActiveAt: null,
    createdAt,
    updatedAt: createdAt,
    deletedAt: null,
    version: 1,
    ...overrides,
  };
}

/** Every field that profile completion counts, filled in (100%). */
export const completeProfile: Partial<UserProfile> = {
  username: "ada",
  name: "Ada Lovelace",
  avatarUrl: "https://example.com/ada.png",
  bio: "Poet of numbers",
  gender: "female",
  ageBracket: "35_44",
  dateOfBirth: "1815-12-10",
  location: "London",
  interests: ["mathematics"],
  phone: "+447911123456",
  phoneVerified: true,
  email: "ada@example.com",
  emailVerified: true,
};
