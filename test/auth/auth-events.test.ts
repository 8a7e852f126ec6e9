import { createHash } from "node:crypto";
import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { hashOpaqueToken } from "../../services/auth/domain/opaque-tokens.js";
import { eventCatalog, type EventSubject } from "../../services/shared/events/catalog.js";
import {
  callHeaders,
  sendChallenge,
  sendCode,
  startAuthHarness,
  uniqueEmail,
  verifyRequest,
  wrongCode,
  type AuthHarness,
} from "./auth-harness.js";

// Every event of the OTP sign-in and session life, on its subject, with the fields a consumer acts
// on, and not one byte of a code, a token or a hash of either in any auth.* message.

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ua =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const ip = "198.51.100.23";

describe("auth events", () => {
  let h: AuthHarness;
  const secrets: string[] = [];
  const secretBytes: Buffer[] = [];
  let userId = "";
  const email = uniqueEmail("events");
  const expected: Partial<Record<EventSubject, number>> = {
    "auth.otp.sent": 5,
    "auth.otp.verified": 4,
    "auth.user.registered": 1,
    "auth.device.registered": 2,
    "auth.session.created": 4,
    "auth.login": 4,
    "auth.session.refreshed": 1,
    "auth.session.revoked": 4,
    "auth.logout": 1,
  };

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1" } });
    const headers = (accessToken?: string) => ({ headers: callHeaders({ ip, userAgent: ua, accessToken }) });
    const keep = (...values: string[]) => {
      for (const value of values) {
        secrets.push(value);
        secretBytes.push(Buffer.from(hashOpaqueToken(value)));
      }
    };

    const signIn = async (deviceId: string) => {
      const code = await sendCode(h, email);
      const { verificationToken } = await h.client.verifyOtp(verifyRequest(email, code), headers());
      const login = await h.client.login({ verificationToken, deviceId, deviceName: `${deviceId} name` }, headers());
      keep(verificationToken, login.tokens!.accessToken, login.tokens!.refreshToken);
      return login;
    };

    // A wrong code first, then the sign-in that registers the user.
    const sent = await sendChallenge(h, email);
    const withChallenge = (code: string) => verifyRequest(email, code, OtpPurpose.LOGIN, sent.challengeId);
    await h.client.verifyOtp(withChallenge(wrongCode(sent.code)), headers()).catch(() => undefined);
    const { verificationToken } = await h.client.verifyOtp(withChallenge(sent.code), headers());
    const first = await h.client.login({ verificationToken, deviceId: "laptop", deviceName: "Laptop" }, headers());
    keep(verificationToken, first.tokens!.accessToken, first.tokens!.refreshToken);
    userId = first.userId;

    // Refresh, then a reuse after the grace window: the session is revoked.
    const rotated = await h.client.refreshToken(
      { refreshToken: first.tokens!.refreshToken, deviceId: "laptop" },
      headers(),
    );
    keep(rotated.tokens!.accessToken, rotated.tokens!.refreshToken);
    h.clock.advance(11_000);
    await h.client
      .refreshToken({ refreshToken: first.tokens!.refreshToken, deviceId: "laptop" }, headers())
      .catch((e: unknown) => ConnectError.from(e));

    // Three more sessions: logout, revoke one, revoke all but the current.
    const second = await signIn("laptop");
    await h.client.logout({}, headers(second.tokens!.accessToken));
    h.clock.advance(15 * 60_000);
    const third = await signIn("phone");
    const fourth = await signIn("laptop");
    await h.client.revokeSession({ sessionId: third.sessionId }, headers(fourth.tokens!.accessToken));
    await h.client.revokeAllSessions({ keepCurrent: false }, headers(fourth.tokens!.accessToken));

    // A code sent to an identifier nobody holds.
    await h.client.sendOtp({
      identifier: uniqueEmail("nobody"),
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "x",
    });

    const codes = h.capture.sent.map((sent) => sent.code);
    const codeHashes = await h.auth.handle.runtime.db.selectFrom("otp_codes").select("code_hash").execute();
    secrets.push(...codes);
    secretBytes.push(...codeHashes.map((row) => Buffer.from(row.code_hash)));
    for (const [subject, count] of Object.entries(expected))
      await h.events.waitForEvents(subject as EventSubject, count);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("publishes each event on its subject with id, time and type headers", () => {
    const auth = h.events.events.filter((e) => e.subject.startsWith("auth."));
    for (const [subject, count] of Object.entries(expected)) {
      expect(
        auth.filter((e) => e.subject === subject),
        subject,
      ).toHaveLength(count);
    }
    for (const event of auth) {
      const decoded = h.events.decoded(event.subject as EventSubject).find((d) => d.eventId === event.msgId);
      expect(decoded, event.subject).toBeDefined();
      expect(event.msgId).toMatch(uuid);
      expect(event.headers["Content-Type"]).toBe("application/protobuf");
      expect(event.headers["Event-Type"]).toBe(eventCatalog[event.subject as EventSubject].typeName);
      expect(decoded!.occurredAt).toBeDefined();
    }
  });

  it("carries the user, the session, the device and the caller in every event about them", () => {
    for (const subject of [
      "auth.user.registered",
      "auth.device.registered",
      "auth.session.created",
      "auth.login",
      "auth.session.refreshed",
      "auth.session.revoked",
      "auth.logout",
    ] as const) {
      for (const event of h.events.decoded(subject)) {
        expect(event.userId, subject).toBe(userId);
        expect(event.ipAddress, subject).toBe(ip);
        expect(event.userAgent, subject).toBe(ua);
        if ("sessionId" in event) expect(event.sessionId, subject).toMatch(uuid);
        if ("deviceId" in event) expect(["laptop", "phone"], subject).toContain(event.deviceId);
      }
    }
    const verified = h.events.decoded("auth.otp.verified");
    expect(verified[0]).toMatchObject({ userId: "", identifier: email, attempts: 2, ipAddress: ip });
    expect(verified.slice(1).every((e) => e.userId === userId)).toBe(true);
    expect(
      h.events.decoded("auth.device.registered").map((e) => [e.deviceId, e.osName, e.browserName, e.deviceType]),
    ).toEqual([
      ["laptop", "Windows", "Chrome", "desktop"],
      ["phone", "Windows", "Chrome", "desktop"],
    ]);
    const sent = h.events.decoded("auth.otp.sent");
    expect(sent.filter((e) => e.identifier === email).map((e) => e.userId)).toEqual(["", userId, userId, userId]);
    expect(sent.find((e) => e.identifier.startsWith("nobody"))).toMatchObject({
      userId: "",
      purpose: OtpPurpose.LOGIN,
      deviceId: "x",
    });
    expect(
      h.events
        .decoded("auth.session.revoked")
        .map((e) => e.reason)
        .sort(),
    ).toEqual(["logout", "refresh_token_reuse", "revoke_all", "user_revoked"]);
  });

  it("never carries a code, a token, or a hash of one, in any encoding", () => {
    const forms = [
      ...secrets.flatMap((secret) => [
        Buffer.from(secret),
        Buffer.from(createHash("sha256").update(secret).digest("hex")),
      ]),
      ...secretBytes.flatMap((bytes) => [
        bytes,
        Buffer.from(bytes.toString("hex")),
        Buffer.from(bytes.toString("base64url")),
        Buffer.from(bytes.toString("base64")),
      ]),
    ];
    expect(secrets.filter((s) => s.startsWith("mrt_")).length).toBeGreaterThanOrEqual(5);
    for (const event of h.events.events.filter((e) => e.subject.startsWith("auth."))) {
      const bytes = Buffer.concat([Buffer.from(event.payload), Buffer.from(JSON.stringify(event.headers))]);
      for (const form of forms) expect(bytes.includes(form), `${event.subject} holds a secret`).toBe(false);
    }
  });
});
