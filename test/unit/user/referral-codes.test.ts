import { describe, expect, it } from "vitest";
import {
  normalizeReferralCode,
  randomReferralSuffix,
  referralCodeFor,
  referralSuffixLength,
} from "../../../services/user/domain/referral-codes.js";

// Referral codes: up to six letters of the username, then random characters, upper case, without
// the characters people confuse when reading a code aloud.

describe("referral codes", () => {
  it("starts with the username's first six letters and digits, upper-cased", () => {
    expect(referralCodeFor("ada_lovelace", "K7M2Q")).toBe("ADALOVK7M2Q");
    expect(referralCodeFor("Bo.b", "K7M2Q")).toBe("BOBK7M2Q");
  });

  it("starts with MINT when the username has no letters or digits to take", () => {
    expect(referralCodeFor("_._", "K7M2Q")).toBe("MINTK7M2Q");
  });

  it("ends in random characters without 0, O, 1, I or L", () => {
    const suffixes = Array.from({ length: 200 }, () => randomReferralSuffix());
    for (const suffix of suffixes) expect(suffix).toMatch(new RegExp(`^[2-9A-HJKMNP-Z]{${referralSuffixLength}}$`));
    expect(new Set(suffixes).size).toBeGreaterThan(190);
  });

  it("is looked up whatever the case, spaces or hyphens it is typed with", () => {
    expect(normalizeReferralCode("  adalov-k7m2q ")).toBe("ADALOVK7M2Q");
    expect(normalizeReferralCode("ADA LOV K7M2Q")).toBe("ADALOVK7M2Q");
  });
});
