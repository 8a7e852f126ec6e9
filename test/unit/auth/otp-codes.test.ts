import { describe, expect, it } from "vitest";
import { generateOtpCode, hashOtpCode, otpCodeMatches } from "../../../services/auth/domain/otp-codes.js";

// One-time codes: six digits from the CSPRNG, stored as an HMAC bound to identifier and purpose.

const key = new Uint8Array(32).fill(7);
const phone = "+447911123456";

describe("one-time codes", () => {
  it("are six digits, zero-padded", () => {
    for (let index = 0; index < 500; index++) expect(generateOtpCode()).toMatch(/^\d{6}$/);
  });

  it("match the hash they were stored under", () => {
    expect(otpCodeMatches(key, phone, "login", "042917", hashOtpCode(key, phone, "login", "042917"))).toBe(true);
  });

  it("do not match with another code, identifier, purpose or key", () => {
    const stored = hashOtpCode(key, phone, "login", "042917");
    expect(otpCodeMatches(key, phone, "login", "042918", stored)).toBe(false);
    expect(otpCodeMatches(key, "+447911123457", "login", "042917", stored)).toBe(false);
    expect(otpCodeMatches(key, phone, "password_reset", "042917", stored)).toBe(false);
    expect(otpCodeMatches(new Uint8Array(32).fill(8), phone, "login", "042917", stored)).toBe(false);
  });

  it("cannot be shifted between identifier and purpose (the parts are separated)", () => {
    expect(Buffer.from(hashOtpCode(key, "ab", "c", "123456"))).not.toEqual(
      Buffer.from(hashOtpCode(key, "a", "bc", "123456")),
    );
  });

  it("do not match a stored value of another length", () => {
    expect(otpCodeMatches(key, phone, "login", "042917", new Uint8Array(16))).toBe(false);
  });
});
