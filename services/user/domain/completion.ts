import type { UserProfile } from "./profile.js";

/**
 * Profile completion: 10 points for each of the 10 fields named in user.proto
 * (User.profile_completion_percent). "Prefer not to say" is an answer, so it counts as filled;
 * contact counts only when both a phone number and an email address are verified.
 */
const checks: ((user: UserProfile) => boolean)[] = [
  (user) => user.username.length > 0,
  (user) => user.name.trim().length > 0,
  (user) => !!user.avatarUrl,
  (user) => !!user.bio?.trim(),
  (user) => user.gender !== null,
  (user) => user.ageBracket !== null,
  (user) => user.dateOfBirth !== null,
  (user) => !!user.location?.trim(),
  (user) => user.interests.length > 0,
  (user) => user.phoneVerified && user.emailVerified && !!user.phone && !!user.email,
];

export function profileCompletionPercent(user: UserProfile): number {
  return checks.filter((filled) => filled(user)).length * (100 / checks.length);
}

/** Completion at which a new or onboarding user becomes ACTIVE (LifecycleState in user.proto). */
export const activeCompletionThreshold = 60;
