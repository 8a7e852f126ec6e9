import { describe, expect, it } from "vitest";
import { activeCompletionThreshold, profileCompletionPercent } from "../../../services/user/domain/completion.js";
import type { UserProfile } from "../../../services/user/domain/profile.js";
import { aUser, completeProfile } from "../support/user-profile.js";

// User.profile_completion_percent in user.proto: 10 points for each of 10 fields.

const complete = aUser(completeProfile);
const percentOf = (overrides: Partial<UserProfile>) => profileCompletionPercent({ ...complete, ...overrides });

describe("profile completion", () => {
  it("is 100 for a profile with every counted field filled in", () => {
    expect(profileCompletionPercent(complete)).toBe(100);
  });

  it("gives 10 points for each of the username and the name, the only fields a new profile must have", () => {
    expect(profileCompletionPercent(aUser({ username: "ada", name: "Ada" }))).toBe(20);
    expect(profileCompletionPercent(aUser({ username: "ada", name: "" }))).toBe(10);
  });

  it.each<[string, Partial<UserProfile>]>([
    ["avatar_url", { avatarUrl: null }],
    ["bio", { bio: null }],
    ["gender", { gender: null }],
    ["age_bracket", { ageBracket: null }],
    ["date_of_birth", { dateOfBirth: null }],
    ["location", { location: null }],
    ["interests", { interests: [] }],
  ])("takes 10 points off for a missing %s", (_, missing) => {
    expect(percentOf(missing)).toBe(90);
  });

  it.each([
    ["name", { name: "   " }],
    ["bio", { bio: " \n " }],
    ["location", { location: "\t" }],
  ] as const)("does not count a %s of blanks as filled in", (_, blank) => {
    expect(percentOf(blank)).toBe(90);
  });

  it("counts 'prefer not to say' as an answer", () => {
    expect(percentOf({ gender: "prefer_not_to_say" })).toBe(100);
  });

  it("counts contact only when both a phone number and an email address are verified", () => {
    expect(percentOf({ phoneVerified: false })).toBe(90);
    expect(percentOf({ emailVerified: false })).toBe(90);
    expect(percentOf({ email: null })).toBe(90);
    expect(percentOf({ phone: null })).toBe(90);
  });

  it("makes a profile ACTIVE from 60 percent, six of the ten fields", () => {
    expect(activeCompletionThreshold).toBe(60);
  });
});
