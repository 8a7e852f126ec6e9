import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { connectAuthClient } from "../fixtures/services.js";
import {
  callHeaders,
  sendChallenge,
  sendCode,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verifyRequest,
  wrongCode,
  type AuthHarness,
} from "./auth-harness.js";

// Two AuthService instances on one database, as behind a load balancer: every limit, single use and
// rotation holds across them, because all of it lives in Postgres under row locks.

const codeOf = (r: PromiseSettledResult<unknown>) =>
  r.status === "fulfilled" ? "ok" : ConnectError.from(r.reason).code;

describe("two AuthService instances on one database", () => {
  let h: AuthHarness;
  let a: Client<typeof AuthService>;
  let b: Client<typeof AuthService>;
  /** Alternates calls between the two instances. */
  const either = (i: number) => (i % 2 === 0 ? a : b);

  beforeAll(async () => {
    // A low identifier lockout threshold, so that the lock is quick to reach (its default is 100).
    h = await startAuthHarness({ env: { OTP_LOCKOUT_THRESHOLD: "5" } });
    a = h.client;
    b = connectAuthClient((await h.startAnother()).baseUrl);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("holds the per-identifier send limit across instances", async () => {
    const email = uniqueEmail();
    const request = {
      identifier: email,
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "d",
    };
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => either(i).sendOtp(request)));
    expect(results.filter((r) => codeOf(r) === "ok")).toHaveLength(3);
    expect(results.filter((r) => codeOf(r) === Code.ResourceExhausted)).toHaveLength(17);
  });

  it("counts wrong codes exactly across instances: 3 per code under 20 concurrent guesses", async () => {
    const email = uniqueEmail();
    const { code, challengeId } = await sendChallenge(h, email);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        either(i).verifyOtp(verifyRequest(email, wrongCode(code), OtpPurpose.LOGIN, challengeId)),
      ),
    );
    expect(results.filter((r) => codeOf(r) === Code.Unauthenticated)).toHaveLength(3);
    expect(results.filter((r) => codeOf(r) === Code.FailedPrecondition)).toHaveLength(17);
  });

  it("keeps the identifier lockout across instances and new codes", async () => {
    const email = uniqueEmail();
    const first = await sendChallenge(h, email);
    for (let i = 0; i < 3; i++)
      await either(i)
        .verifyOtp(verifyRequest(email, wrongCode(first.code), OtpPurpose.LOGIN, first.challengeId))
        .catch(() => undefined);
    const second = await sendChallenge({ client: b, capture: h.capture }, email);
    const withSecond = (code: string) => verifyRequest(email, code, OtpPurpose.LOGIN, second.challengeId);
    for (let i = 0; i < 2; i++)
      await either(i)
        .verifyOtp(withSecond(wrongCode(second.code)))
        .catch(() => undefined);
    for (const client of [a, b]) {
      const error = ConnectError.from(await client.verifyOtp(withSecond(second.code)).catch((e: unknown) => e));
      expect(error.code).toBe(Code.ResourceExhausted);
    }
  });

  it("turns one right code into exactly one verification token, and one token into one session, across instances", async () => {
    const email = uniqueEmail();
    const code = await sendCode(h, email);
    const verified = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => either(i).verifyOtp(verifyRequest(email, code))),
    );
    const tokens = verified.filter((r) => r.status === "fulfilled");
    expect(tokens).toHaveLength(1);
    const token = (tokens[0] as PromiseFulfilledResult<{ verificationToken: string }>).value.verificationToken;
    const logins = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => either(i).login({ verificationToken: token, deviceId: "d" })),
    );
    expect(logins.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("rotates a refresh token exactly once when 20 refreshes race across instances", async () => {
    const login = await signIn(h, uniqueEmail());
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        either(i).refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "device-1" }),
      ),
    );
    expect(new Set(results.map((r) => r.tokens!.refreshToken)).size).toBe(1);
    const rows = await h.auth.handle.runtime.db
      .selectFrom("refresh_tokens")
      .select("token_hash")
      .where("session_id", "=", login.sessionId)
      .execute();
    expect(rows).toHaveLength(2);
  });

  it("detects reuse on one instance of a token rotated on the other", async () => {
    const login = await signIn(h, uniqueEmail());
    const rotated = await a.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "device-1" });
    h.clock.advance(10_001);
    const reuse = ConnectError.from(
      await b.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "device-1" }).catch((e: unknown) => e),
    );
    expect(reuse.code).toBe(Code.Unauthenticated);
    const after = ConnectError.from(
      await a
        .refreshToken({ refreshToken: rotated.tokens!.refreshToken, deviceId: "device-1" })
        .catch((e: unknown) => e),
    );
    expect(after.code).toBe(Code.Unauthenticated);
  });

  it("refuses on one instance the access token of a session logged out on the other", async () => {
    const login = await signIn(h, uniqueEmail());
    const auth = { headers: callHeaders({ accessToken: login.tokens!.accessToken }) };
    await expect(b.listSessions({}, auth)).resolves.toBeDefined();
    await a.logout({}, auth);
    expect(ConnectError.from(await b.listSessions({}, auth).catch((e: unknown) => e)).code).toBe(Code.Unauthenticated);
    expect((await b.validateToken({ accessToken: login.tokens!.accessToken })).valid).toBe(false);
  });
});
