import { describe, expect, it } from "vitest";
import { assessSignIn, recentFailuresFlag, type SignInFacts } from "../../../services/auth/domain/login-risk.js";

// The suspicious-login checks: a blocked device is refused; everything else is only flagged on
// auth.login, because a person on a new phone or network is the common case.

const familiar: SignInFacts = {
  newUser: false,
  newDevice: false,
  trustedDevice: false,
  blockedDevice: false,
  knownIp: true,
  recentFailures: 0,
};
const assess = (facts: Partial<SignInFacts>) => assessSignIn({ ...familiar, ...facts });

describe("sign-in risk", () => {
  it("lets a familiar device on a known IP in without a flag", () => {
    expect(assess({})).toEqual({ refusal: null, reasons: [] });
  });

  it("refuses a blocked device, whatever else is true of the sign-in", () => {
    expect(assess({ blockedDevice: true })).toEqual({ refusal: "device_blocked", reasons: ["blocked_device"] });
    expect(assess({ blockedDevice: true, trustedDevice: true, newUser: true })).toMatchObject({
      refusal: "device_blocked",
    });
  });

  it("flags a new device and a new IP, without refusing", () => {
    expect(assess({ newDevice: true, knownIp: false })).toEqual({ refusal: null, reasons: ["new_device", "new_ip"] });
  });

  it("does not flag a trusted device as new or on a new IP", () => {
    expect(assess({ trustedDevice: true, newDevice: true, knownIp: false }).reasons).toEqual([]);
  });

  it("has nothing to compare a first sign-in with, so only failures can flag it", () => {
    expect(assess({ newUser: true, newDevice: true, knownIp: false }).reasons).toEqual([]);
    expect(assess({ newUser: true, recentFailures: recentFailuresFlag }).reasons).toEqual(["recent_failures"]);
  });

  it("flags a success that follows three or more failures", () => {
    expect(recentFailuresFlag).toBe(3);
    expect(assess({ recentFailures: 2 }).reasons).toEqual([]);
    expect(assess({ recentFailures: 3 }).reasons).toEqual(["recent_failures"]);
  });

  it("flags failures even on a trusted device", () => {
    expect(assess({ trustedDevice: true, recentFailures: 5 }).reasons).toEqual(["recent_failures"]);
  });
});
