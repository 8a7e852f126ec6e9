import { describe, expect, it } from "vitest";
import {
  assessSignIn,
  type LoginRiskPolicy,
  recentFailuresFlag,
  refusedSignals,
  type SignInFacts,
} from "../../../services/auth/domain/login-risk.js";

// The suspicious-login checks: a blocked device is refused; every other signal does what the policy
// (LOGIN_RISK_*) says: allow (flagged on auth.login), step up, or refuse.

const familiar: SignInFacts = {
  newUser: false,
  newDevice: false,
  trustedDevice: false,
  blockedDevice: false,
  knownIp: true,
  knownNetwork: true,
  recentFailures: 0,
};
const allowAll: LoginRiskPolicy = {
  new_device: "allow",
  new_ip: "allow",
  new_network: "allow",
  recent_failures: "allow",
};
const assess = (facts: Partial<SignInFacts>, policy: LoginRiskPolicy = allowAll) =>
  assessSignIn({ ...familiar, ...facts }, policy);

describe("sign-in risk signals", () => {
  it("lets a familiar device on a known IP in without a flag", () => {
    expect(assess({})).toEqual({ refusal: null, reasons: [], stepUpRequired: false });
  });

  it("refuses a blocked device, whatever else is true of the sign-in", () => {
    expect(assess({ blockedDevice: true })).toMatchObject({ refusal: "device_blocked" });
    expect(assess({ blockedDevice: true, trustedDevice: true, newUser: true })).toMatchObject({
      refusal: "device_blocked",
    });
  });

  it("flags a new device and a new IP, without refusing when the policy allows them", () => {
    expect(assess({ newDevice: true, knownIp: false })).toEqual({
      refusal: null,
      reasons: ["new_device", "new_ip"],
      stepUpRequired: false,
    });
  });

  it("flags a known device on a new network, but not a new device (it has no networks yet)", () => {
    expect(assess({ knownNetwork: false }).reasons).toEqual(["new_network"]);
    expect(assess({ newDevice: true, knownNetwork: false }).reasons).toEqual(["new_device"]);
  });

  it("does not flag a trusted device as new, on a new IP or on a new network", () => {
    expect(assess({ trustedDevice: true, newDevice: true, knownIp: false, knownNetwork: false }).reasons).toEqual([]);
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

describe("the risk policy", () => {
  it("lets a sign-in through on condition of a step-up when a raised signal says step_up", () => {
    const policy: LoginRiskPolicy = { ...allowAll, new_device: "step_up" };
    expect(assess({ newDevice: true }, policy)).toEqual({
      refusal: null,
      reasons: ["new_device"],
      stepUpRequired: true,
    });
    expect(assess({ knownIp: false }, policy).stepUpRequired).toBe(false);
  });

  it("refuses when any raised signal says refuse, and names only the refusing signals", () => {
    const policy: LoginRiskPolicy = { ...allowAll, new_device: "step_up", new_ip: "refuse" };
    const assessment = assess({ newDevice: true, knownIp: false }, policy);
    expect(assessment).toMatchObject({ refusal: "suspicious", reasons: ["new_device", "new_ip"] });
    expect(refusedSignals(assessment, policy)).toEqual(["new_ip"]);
  });
});
