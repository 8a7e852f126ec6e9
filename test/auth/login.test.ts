import { Code, ConnectError } from "@connectrpc/connect";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { LoginMethod } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { waitFor } from "../support/index.js";
import {
  callHeaders,
  sendCode,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verificationToken,
  verifyRequest,
  wrongCode,
  type AuthHarness,
} from "./auth-harness.js";

// Login: consumes a LOGIN verification token once, finds or mints the user, registers the device,
// runs the suspicious-login checks, refuses restricted users and blocked devices, creates a session.

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const iphone =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}

describe("AuthService.Login", () => {
  let h: AuthHarness;
  const admin = uniqueEmail("admin");

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1", ADMIN_IDENTIFIERS: admin.toUpperCase() } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const loginEventFor = (sessionId: string) =>
    waitFor(() => h.events.decoded("auth.login").find((e) => e.sessionId === sessionId)).then((e) => e!);

  it("registers an unknown identifier: a new user id, a session and a token pair whose access token verifies with the JWKS", async () => {
    const email = uniqueEmail();
    const response = await signIn(h, email, { deviceId: "phone-1" });
    expect(response.newUser).toBe(true);
    expect(response.userId).toMatch(uuid);
    expect(response.sessionId).toMatch(uuid);
    expect(response.tokens).toMatchObject({ tokenType: "Bearer", expiresIn: 900n });
    expect(response.tokens!.refreshToken).toMatch(/^mrt_[A-Za-z0-9_-]{43}$/);

    const jwks = createRemoteJWKSet(new URL(`${h.auth.baseUrl}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(response.tokens!.accessToken, jwks, {
      issuer: "mintcoin-auth",
      audience: "mintcoin",
    });
    expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(payload).toMatchObject({
      sub: response.userId,
      sid: response.sessionId,
      did: "phone-1",
      roles: ["user"],
      email,
      email_verified: true,
      typ: "access",
    });
    expect(payload).not.toHaveProperty("phone");
    expect(payload.jti).toMatch(uuid);
  });

  it("signs a known identifier in to its user, with a new session each time", async () => {
    const email = uniqueEmail();
    const first = await signIn(h, email);
    const second = await signIn(h, email);
    expect(second.newUser).toBe(false);
    expect(second.userId).toBe(first.userId);
    expect(second.sessionId).not.toBe(first.sessionId);
  });

  it("answers a grpc-js client with the same shape", async () => {
    const email = uniqueEmail();
    const token = await verificationToken(h, email);
    const response = await h.grpc.Login({ verification_token: token, device_id: "grpc-device", device_name: "CLI" });
    expect(response).toMatchObject({ new_user: true, tokens: { token_type: "Bearer", expires_in: "900" } });
  });

  it("uses a verification token once, refuses expired, garbled and other-purpose tokens, and leaves those unused", async () => {
    const email = uniqueEmail();
    const token = await verificationToken(h, email);
    await h.client.login({ verificationToken: token, deviceId: "d" });
    expect((await failure(h.client.login({ verificationToken: token, deviceId: "d" }))).code).toBe(
      Code.Unauthenticated,
    );
    expect((await failure(h.client.login({ verificationToken: "mvt_nonsense", deviceId: "d" }))).code).toBe(
      Code.Unauthenticated,
    );

    const reset = await verificationToken(h, uniqueEmail(), OtpPurpose.PASSWORD_RESET);
    expect((await failure(h.client.login({ verificationToken: reset, deviceId: "d" }))).code).toBe(
      Code.Unauthenticated,
    );
    const left = await h.auth.handle.runtime.db
      .selectFrom("verification_tokens")
      .select("purpose")
      .where("purpose", "=", "password_reset")
      .execute();
    expect(left.length).toBeGreaterThan(0);

    const late = await verificationToken(h, uniqueEmail());
    h.clock.advance(5 * 60_000 + 1);
    expect((await failure(h.client.login({ verificationToken: late, deviceId: "d" }))).code).toBe(Code.Unauthenticated);
  });

  it("creates exactly one session from one verification token under 20 concurrent logins", async () => {
    const email = uniqueEmail();
    const token = await verificationToken(h, email);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => h.client.login({ verificationToken: token, deviceId: "d" })),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    expect(ok).toHaveLength(1);
    for (const r of results)
      if (r.status === "rejected") expect(ConnectError.from(r.reason).code).toBe(Code.Unauthenticated);
    const userId = (ok[0] as PromiseFulfilledResult<{ userId: string }>).value.userId;
    const sessions = await h.auth.handle.runtime.db
      .selectFrom("sessions")
      .select("id")
      .where("user_id", "=", userId)
      .execute();
    expect(sessions).toHaveLength(1);
  });

  it("mints one user when two first sign-ins of one identifier race", async () => {
    const email = uniqueEmail();
    const tokens = [await verificationToken(h, email), await verificationToken(h, email)];
    const [a, b] = await Promise.all(
      tokens.map((token, i) => h.client.login({ verificationToken: token, deviceId: `d${i}` })),
    );
    expect(a!.userId).toBe(b!.userId);
    expect([a!.newUser, b!.newUser].filter(Boolean)).toHaveLength(1);
    const identities = await h.auth.handle.runtime.db
      .selectFrom("identities")
      .selectAll()
      .where("identifier", "=", email)
      .execute();
    expect(identities).toHaveLength(1);
  });

  it("registers the device once per user with its parsed user agent and fingerprint, trusted when it registered the account, and updates it on later sign-ins", async () => {
    const email = uniqueEmail();
    const first = await signIn(h, email, {
      deviceId: "iphone-1",
      deviceName: "Ada's iPhone",
      userAgent: iphone,
      ip: "198.51.100.4",
    });
    const devices = () =>
      h.auth.handle.runtime.db.selectFrom("devices").selectAll().where("user_id", "=", first.userId).execute();
    const [device] = await devices();
    expect(device).toMatchObject({
      device_id: "iphone-1",
      device_name: "Ada's iPhone",
      device_type: "mobile",
      os_name: "iOS",
      os_version: "17.4",
      browser_name: "Mobile Safari",
      browser_version: "17.4",
      last_ip: "198.51.100.4",
      trusted: true,
      blocked: false,
    });
    expect(device!.fingerprint).toMatch(/^[0-9a-f]{64}$/);

    const registered = await waitFor(() =>
      h.events.decoded("auth.device.registered").find((e) => e.userId === first.userId),
    );
    expect(registered).toMatchObject({
      deviceId: "iphone-1",
      deviceType: "mobile",
      osName: "iOS",
      fingerprint: device!.fingerprint,
      ipAddress: "198.51.100.4",
      trusted: true,
    });

    h.clock.advance(60_000);
    await signIn(h, email, { deviceId: "iphone-1", deviceName: "Renamed", userAgent: iphone, ip: "198.51.100.5" });
    const after = await devices();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ device_name: "Renamed", last_ip: "198.51.100.5", id: device!.id });
    expect(after[0]!.last_used_at.getTime()).toBe(h.clock.now().getTime());
    expect(h.events.decoded("auth.device.registered").filter((e) => e.userId === first.userId)).toHaveLength(1);
  });

  it("flags new devices, new IPs, new networks and recent failures on auth.login, without flagging a first sign-in", async () => {
    const email = uniqueEmail();
    const first = await signIn(h, email, { deviceId: "phone", ip: "203.0.113.1" });
    expect(first.stepUpRequired).toBe(false);
    expect(await loginEventFor(first.sessionId)).toMatchObject({
      newUser: true,
      newDevice: true,
      trustedDevice: true,
      suspicious: false,
      suspiciousReasons: [],
    });

    // Defaults: a new device signs in on condition of a step-up; new IPs and networks are flagged only.
    const newDevice = await signIn(h, email, { deviceId: "laptop", ip: "203.0.113.1" });
    expect(newDevice.stepUpRequired).toBe(true);
    expect(await loginEventFor(newDevice.sessionId)).toMatchObject({
      newDevice: true,
      suspiciousReasons: ["new_device"],
      stepUpRequired: true,
    });

    const newIp = await signIn(h, email, { deviceId: "laptop", ip: "203.0.113.2" });
    expect(newIp.stepUpRequired).toBe(false);
    expect(await loginEventFor(newIp.sessionId)).toMatchObject({
      newDevice: false,
      suspicious: true,
      suspiciousReasons: ["new_ip"],
      stepUpRequired: false,
    });

    h.clock.advance(15 * 60_000); // out of the code-send window
    const newNetwork = await signIn(h, email, { deviceId: "laptop", ip: "198.51.100.9" });
    expect(await loginEventFor(newNetwork.sessionId)).toMatchObject({
      suspiciousReasons: ["new_ip", "new_network"],
    });
    const dead = await sendCode(h, email);
    for (let i = 0; i < 3; i++) await failure(h.client.verifyOtp(verifyRequest(email, wrongCode(dead))));
    const afterFailures = await signIn(h, email, { deviceId: "laptop", ip: "203.0.113.2" });
    expect(afterFailures.stepUpRequired).toBe(true);
    expect(await loginEventFor(afterFailures.sessionId)).toMatchObject({
      suspicious: true,
      suspiciousReasons: ["recent_failures"],
    });

    await h.auth.handle.runtime.db
      .updateTable("devices")
      .set({ trusted: true })
      .where("user_id", "=", first.userId)
      .where("device_id", "=", "laptop")
      .execute();
    h.clock.advance(15 * 60_000);
    const trusted = await signIn(h, email, { deviceId: "laptop", ip: "192.0.2.99" });
    expect(await loginEventFor(trusted.sessionId)).toMatchObject({
      trustedDevice: true,
      suspicious: false,
      method: LoginMethod.OTP,
    });
  });

  it("refuses a blocked device with PERMISSION_DENIED and leaves the verification token usable elsewhere", async () => {
    const email = uniqueEmail();
    const first = await signIn(h, email, { deviceId: "stolen" });
    await h.auth.handle.runtime.db
      .updateTable("devices")
      .set({ blocked: true, blocked_reason: "lost" })
      .where("user_id", "=", first.userId)
      .execute();
    const token = await verificationToken(h, email);
    const error = await failure(h.client.login({ verificationToken: token, deviceId: "stolen" }));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.rawMessage).toContain("blocked");
    await expect(h.client.login({ verificationToken: token, deviceId: "new-phone" })).resolves.toMatchObject({
      userId: first.userId,
    });
  });

  it("refuses suspended and banned users, saying until when, and lets a finished suspension sign in", async () => {
    const db = h.auth.handle.runtime.db;
    const restrict = async (
      userId: string,
      values: { suspended?: boolean; suspended_until?: Date | null; banned?: boolean },
    ) =>
      db
        .insertInto("user_restrictions")
        .values({ user_id: userId, suspended_until: null, updated_at: h.clock.now(), ...values })
        .onConflict((oc) =>
          oc.column("user_id").doUpdateSet({ suspended_until: null, suspended: false, banned: false, ...values }),
        )
        .execute();
    const email = uniqueEmail();
    const { userId } = await signIn(h, email);

    const until = new Date(h.clock.now().getTime() + 3_600_000);
    await restrict(userId, { suspended: true, suspended_until: until });
    let error = await failure(signIn(h, email));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.rawMessage).toContain(until.toISOString());

    await restrict(userId, { suspended: true, suspended_until: null });
    expect((await failure(signIn(h, email))).rawMessage).toContain("suspended");

    h.clock.advance(15 * 60_000); // out of the code-send window
    await restrict(userId, { banned: true });
    error = await failure(signIn(h, email));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.rawMessage).toContain("banned");

    await restrict(userId, { suspended: true, suspended_until: new Date(h.clock.now().getTime() - 1) });
    await expect(signIn(h, email)).resolves.toMatchObject({ userId });
  });

  it("gives the admin role to a user holding an identifier from ADMIN_IDENTIFIERS", async () => {
    const response = await signIn(h, admin);
    const jwks = createRemoteJWKSet(new URL(`${h.auth.baseUrl}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(response.tokens!.accessToken, jwks);
    expect(payload.roles).toEqual(["user", "admin"]);
  });

  it("announces registration, the session and the sign-in with what consumers need", async () => {
    const email = uniqueEmail();
    const response = await h.client.login(
      { verificationToken: await verificationToken(h, email), deviceId: "web-1", deviceName: "Firefox" },
      { headers: callHeaders({ ip: "198.51.100.77", userAgent: iphone }) },
    );
    const registered = await waitFor(() =>
      h.events.decoded("auth.user.registered").find((e) => e.userId === response.userId),
    );
    expect(registered).toMatchObject({
      identifier: email,
      sessionId: response.sessionId,
      deviceId: "web-1",
      ipAddress: "198.51.100.77",
      userAgent: iphone,
    });
    const created = await waitFor(() =>
      h.events.decoded("auth.session.created").find((e) => e.sessionId === response.sessionId),
    );
    expect(created).toMatchObject({
      userId: response.userId,
      deviceId: "web-1",
      deviceName: "Firefox",
      ipAddress: "198.51.100.77",
    });
    expect(Number(created!.expiresAt!.seconds)).toBe(Math.floor(h.clock.now().getTime() / 1000) + 7 * 86_400);
    expect(await loginEventFor(response.sessionId)).toMatchObject({
      userId: response.userId,
      identifier: email,
      newUser: true,
      deviceName: "Firefox",
    });
  });
});
