import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IdentifierType } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { loadAuthConfig } from "../../services/auth/config.js";
import { networkOf } from "../../services/auth/domain/networks.js";
import { ConfigError } from "../../services/shared/config/env.js";
import { waitFor } from "../support/index.js";
import {
  callHeaders,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verificationToken,
  type AuthHarness,
} from "./auth-harness.js";

// The suspicious-login policy: each signal (new device, new IP, new network, recent failures) leads
// to its configured action: allow (flagged on auth.login), step up (signed in without a recent
// authentication) or refuse (PERMISSION_DENIED, SUSPICIOUS_SIGN_IN). "New network" is a change of
// IPv4 /24 or IPv6 /48 against the device's own recent networks.

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}
const infoOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0];

describe("networkOf: the network behind the new-network signal", () => {
  it.each([
    ["203.0.113.77", "203.0.113.0/24"],
    ["::ffff:203.0.113.77", "203.0.113.0/24"],
    ["2001:db8:1:2::9", "2001:db8:1::/48"],
    ["2001:0db8:0001:ffff:0:0:0:1", "2001:db8:1::/48"],
    ["2001:db8::1", "2001:db8:0::/48"],
    ["::1", "0:0:0::/48"],
    ["", null],
    ["not-an-ip", null],
  ])("%s is in %s", (ip, network) => {
    expect(networkOf(ip)).toBe(network);
  });
});

describe("the policy's configuration is validated", () => {
  it.each([
    ["LOGIN_RISK_NEW_IP", "block"],
    ["LOGIN_RISK_NEW_DEVICE", ""],
    ["STEP_UP_MAX_AGE", "0s"],
    ["STEP_UP_MAX_AGE", "1500ms"],
    ["STEP_UP_MAX_AGE", "2d"],
  ])("refuses %s=%j naming the variable", (name, value) => {
    expect(() => loadAuthConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadAuthConfig({ [name]: value })).toThrow(name);
  });

  it("defaults to step up for new devices and recent failures, allow for new IPs and networks, 5 minutes", () => {
    const config = loadAuthConfig({});
    expect(config.loginRiskPolicy).toEqual({
      new_device: "step_up",
      new_ip: "allow",
      new_network: "allow",
      recent_failures: "step_up",
    });
    expect(config.stepUpMaxAgeSeconds).toBe(300);
  });
});

describe("login risk policy, configured per signal", () => {
  let h: AuthHarness;

  beforeAll(async () => {
    h = await startAuthHarness({
      env: {
        TRUSTED_PROXIES: "127.0.0.1",
        OTP_RATE_LIMIT_MAX_REQUESTS: "100",
        LOGIN_RISK_NEW_DEVICE: "allow",
        LOGIN_RISK_NEW_IP: "step_up",
        LOGIN_RISK_NEW_NETWORK: "refuse",
        LOGIN_RISK_RECENT_FAILURES: "allow",
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const loginEventFor = (sessionId: string) =>
    waitFor(() => h.events.decoded("auth.login").find((e) => e.sessionId === sessionId)).then((e) => e!);
  const hasAuthTime = (accessToken: string) => "auth_time" in decodeJwt(accessToken);

  it("applies each signal's action: allow keeps the authentication, step up withholds it, refuse refuses and leaves the token usable", async () => {
    const email = uniqueEmail("risk");
    const first = await signIn(h, email, { deviceId: "phone", ip: "203.0.113.1" });

    const allowed = await signIn(h, email, { deviceId: "laptop", ip: "203.0.113.1" });
    expect(allowed.stepUpRequired).toBe(false);
    expect(hasAuthTime(allowed.tokens!.accessToken)).toBe(true);
    expect(await loginEventFor(allowed.sessionId)).toMatchObject({
      suspiciousReasons: ["new_device"],
      stepUpRequired: false,
    });

    // Another address of the same /24: a new IP (step up), not a new network.
    const held = await signIn(h, email, { deviceId: "laptop", ip: "203.0.113.200" });
    expect(held.stepUpRequired).toBe(true);
    expect(hasAuthTime(held.tokens!.accessToken)).toBe(false);
    expect(await loginEventFor(held.sessionId)).toMatchObject({ suspiciousReasons: ["new_ip"], stepUpRequired: true });

    const token = await verificationToken(h, email);
    const refused = await failure(
      h.client.login(
        { verificationToken: token, deviceId: "laptop" },
        { headers: callHeaders({ ip: "198.51.100.1" }) },
      ),
    );
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(infoOf(refused)).toMatchObject({ reason: "SUSPICIOUS_SIGN_IN", metadata: { signals: "new_network" } });
    // Nothing was recorded, and the token still signs in where the policy allows it: the trusted
    // device that registered the account skips the novelty checks, even from that network.
    const fromPhone = await h.client.login(
      { verificationToken: token, deviceId: "phone" },
      { headers: callHeaders({ ip: "198.51.100.1" }) },
    );
    expect(fromPhone.userId).toBe(first.userId);
    expect(await loginEventFor(fromPhone.sessionId)).toMatchObject({ trustedDevice: true, suspiciousReasons: [] });
    const laptopLogins = h.events
      .decoded("auth.login")
      .filter((e) => e.deviceId === "laptop" && e.userId === first.userId);
    expect(laptopLogins).toHaveLength(2);
  });

  it("compares IPv6 sign-ins by /48 against the device's own networks", async () => {
    const email = uniqueEmail("risk");
    await signIn(h, email, { deviceId: "phone", ip: "2001:db8:1:1::5" });
    await signIn(h, email, { deviceId: "tablet", ip: "2001:db8:1:1::5" });
    const sameSite = await signIn(h, email, { deviceId: "tablet", ip: "2001:db8:1:2::9" });
    expect(await loginEventFor(sameSite.sessionId)).toMatchObject({ suspiciousReasons: ["new_ip"] });

    const elsewhere = await failure(
      h.client.login(
        { verificationToken: await verificationToken(h, email), deviceId: "tablet" },
        { headers: callHeaders({ ip: "2001:db8:2::1" }) },
      ),
    );
    expect(infoOf(elsewhere)?.reason).toBe("SUSPICIOUS_SIGN_IN");
  });

  it("refuses a right password from a new network the same way, without counting it as a wrong one", async () => {
    const email = uniqueEmail("risk");
    const first = await signIn(h, email, { deviceId: "phone", ip: "192.0.2.10" });
    await h.client.setPassword(
      { password: "correct horse battery staple" },
      { headers: callHeaders({ accessToken: first.tokens!.accessToken }) },
    );
    const passwordLogin = (ip: string) =>
      h.client.loginWithPassword(
        {
          identifier: email,
          identifierType: IdentifierType.EMAIL,
          password: "correct horse battery staple",
          deviceId: "laptop",
        },
        { headers: callHeaders({ ip }) },
      );
    await expect(passwordLogin("192.0.2.10")).resolves.toMatchObject({ stepUpRequired: false });
    const error = await failure(passwordLogin("198.51.100.99"));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(infoOf(error)?.reason).toBe("SUSPICIOUS_SIGN_IN");
    const guard = await h.auth.handle.runtime.db
      .selectFrom("password_guards")
      .select("failures")
      .where("identifier", "=", email)
      .executeTakeFirst();
    expect(guard?.failures ?? 0).toBe(0);
  });
});
