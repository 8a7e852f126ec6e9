import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { grpc } from "../fixtures/grpc-clients.js";
import { waitFor } from "../support/index.js";
import {
  sendChallenge,
  sendCode,
  startAuthHarness,
  uniqueEmail,
  verifyRequest,
  wrongCode,
  type AuthHarness,
} from "./auth-harness.js";

// VerifyOtp: a right code becomes a single-use verification token; wrong codes are counted per code
// through its challenge (dead after OTP_MAX_ATTEMPTS), on a small allowance of their own when they
// come without a challenge, and per identifier across codes (a growing lockout), in the database,
// exactly under concurrency. The lockout's threshold is lowered to 5 here to show its mechanics;
// otp-hostile-traffic.test.ts shows what the default means for a person under attack.

const minute = 60_000;

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}

function reasonOf(error: ConnectError): string | undefined {
  return error.findDetails(ErrorInfoSchema)[0]?.reason;
}

describe("AuthService.VerifyOtp", () => {
  let h: AuthHarness;

  beforeAll(async () => {
    h = await startAuthHarness({ env: { OTP_LOCKOUT_THRESHOLD: "5" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("turns a right code into an opaque verification token that expires in minutes", async () => {
    const email = uniqueEmail();
    const code = await sendCode(h, email);
    const response = await h.client.verifyOtp(verifyRequest(email, code));
    expect(response.verificationToken).toMatch(/^mvt_[A-Za-z0-9_-]{43}$/);
    const expiresAt = Number(response.expiresAt!.seconds) * 1000;
    expect(expiresAt).toBe(Math.floor((h.clock.now().getTime() + 5 * minute) / 1000) * 1000);
  });

  it("answers a grpc-js client, and normalises the identifier as SendOtp did", async () => {
    const email = uniqueEmail("Grpc");
    const code = await sendCode(h, email);
    const response = await h.grpc.VerifyOtp({
      identifier: `  ${email.toUpperCase()} `,
      identifier_type: "IDENTIFIER_TYPE_EMAIL",
      code,
      purpose: "OTP_PURPOSE_LOGIN",
    });
    expect(response.verification_token).toMatch(/^mvt_/);
  });

  it("stores only a hash of the verification token", async () => {
    const email = uniqueEmail();
    const code = await sendCode(h, email);
    const { verificationToken } = await h.client.verifyOtp(verifyRequest(email, code));
    const rows = await h.auth.handle.runtime.db
      .selectFrom("verification_tokens")
      .selectAll()
      .where("identifier", "=", email)
      .execute();
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]!.token_hash).toString("hex")).not.toContain(
      Buffer.from(verificationToken).toString("hex"),
    );
    expect(JSON.stringify(rows)).not.toContain(verificationToken.slice(4));
  });

  it("answers a wrong code with UNAUTHENTICATED and kills the code after 3 wrong ones, even if the right one comes next", async () => {
    const email = uniqueEmail();
    const { code, challengeId } = await sendChallenge(h, email);
    const guess = (value: string) => h.client.verifyOtp(verifyRequest(email, value, OtpPurpose.LOGIN, challengeId));
    for (let attempt = 1; attempt <= 3; attempt++) {
      const error = await failure(guess(wrongCode(code)));
      expect(error.code, `attempt ${attempt}`).toBe(Code.Unauthenticated);
    }
    const error = await failure(guess(code));
    expect(error.code).toBe(Code.FailedPrecondition);
  });

  it("accepts the right code after fewer than 3 wrong ones", async () => {
    const email = uniqueEmail();
    const { code, challengeId } = await sendChallenge(h, email);
    const guess = (value: string) => h.client.verifyOtp(verifyRequest(email, value, OtpPurpose.LOGIN, challengeId));
    await failure(guess(wrongCode(code)));
    await failure(guess(wrongCode(code)));
    await expect(guess(code)).resolves.toBeDefined();
  });

  it("checks a guess with a challenge against that code only: an earlier code stays good for its own challenge", async () => {
    const email = uniqueEmail();
    const first = await sendChallenge(h, email);
    const second = await sendChallenge(h, email);
    const withFirst = await failure(
      h.client.verifyOtp(verifyRequest(email, second.code, OtpPurpose.LOGIN, first.challengeId)),
    );
    expect(withFirst.code).toBe(Code.Unauthenticated);
    await expect(
      h.client.verifyOtp(verifyRequest(email, first.code, OtpPurpose.LOGIN, first.challengeId)),
    ).resolves.toBeDefined();
    await expect(
      h.client.verifyOtp(verifyRequest(email, second.code, OtpPurpose.LOGIN, second.challengeId)),
    ).resolves.toBeDefined();
  });

  it("gives a guess without a challenge 3 wrong codes per identifier and window, spending none of the code's attempts", async () => {
    const email = uniqueEmail();
    const { code, challengeId } = await sendChallenge(h, email);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const error = await failure(h.client.verifyOtp(verifyRequest(email, wrongCode(code))));
      expect(error.code, `attempt ${attempt}`).toBe(Code.Unauthenticated);
    }
    const spent = await failure(h.client.verifyOtp(verifyRequest(email, code)));
    expect(spent.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(spent)).toBe("OTP_UNBOUND_GUESSES_SPENT");
    expect(Number(spent.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds)).toBe(15 * 60);
    const row = await h.auth.handle.runtime.db
      .selectFrom("otp_codes")
      .select(["attempts", "closed_at"])
      .where("identifier", "=", email)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ attempts: 0, closed_at: null });

    // The code is untouched for whoever holds its challenge; after the window, guesses without one work again.
    await expect(h.client.verifyOtp(verifyRequest(email, code, OtpPurpose.LOGIN, challengeId))).resolves.toBeDefined();
    h.clock.advance(15 * minute);
    const later = await sendCode(h, email);
    await expect(h.client.verifyOtp(verifyRequest(email, later))).resolves.toBeDefined();
  });

  it("gives one answer for used, expired, never-sent and other-purpose codes", async () => {
    const used = uniqueEmail();
    const usedCode = await sendCode(h, used);
    await h.client.verifyOtp(verifyRequest(used, usedCode));
    const expired = uniqueEmail();
    const expiredCode = await sendCode(h, expired);
    const otherPurpose = uniqueEmail();
    const otherPurposeCode = await sendCode(h, otherPurpose, OtpPurpose.PASSWORD_RESET);
    h.clock.advance(5 * minute + 1);

    const elsewhere = await sendChallenge(h, uniqueEmail());
    const otherIdentifier = uniqueEmail();
    await sendCode(h, otherIdentifier);

    const errors = [
      await failure(h.client.verifyOtp(verifyRequest(used, usedCode))),
      await failure(h.client.verifyOtp(verifyRequest(expired, expiredCode))),
      await failure(h.client.verifyOtp(verifyRequest(uniqueEmail(), "123456"))),
      await failure(h.client.verifyOtp(verifyRequest(otherPurpose, otherPurposeCode, OtpPurpose.LOGIN))),
      // A live challenge of another identifier, and a challenge nobody was given.
      await failure(
        h.client.verifyOtp(verifyRequest(otherIdentifier, elsewhere.code, OtpPurpose.LOGIN, elsewhere.challengeId)),
      ),
      await failure(
        h.client.verifyOtp(verifyRequest(otherIdentifier, "123456", OtpPurpose.LOGIN, `mch_${"A".repeat(43)}`)),
      ),
    ];
    for (const error of errors) {
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.rawMessage).toBe(errors[0]!.rawMessage);
      expect(reasonOf(error)).toBe("OTP_NOT_ACTIVE");
    }
  });

  it("counts wrong codes per identifier across codes: a new code buys no new guesses", async () => {
    const email = uniqueEmail();
    const first = await sendChallenge(h, email);
    const guess = (sent: { challengeId: string }, code: string) =>
      h.client.verifyOtp(verifyRequest(email, code, OtpPurpose.LOGIN, sent.challengeId));
    const locks = async () => (await h.auth.handle.runtime.metrics.otpIdentifierLocks.get()).values[0]?.value ?? 0;
    const locksBefore = await locks();
    for (let i = 0; i < 3; i++) await failure(guess(first, wrongCode(first.code)));
    const second = await sendChallenge(h, email);
    await failure(guess(second, wrongCode(second.code)));
    expect(await locks()).toBe(locksBefore);
    const fifth = await failure(guess(second, wrongCode(second.code)));
    expect(fifth.code).toBe(Code.Unauthenticated);
    expect(await locks()).toBe(locksBefore + 1); // the metric operators are alerted on

    // Locked now: even the right code is refused, with when to retry, and the refusal costs no attempt.
    const locked = await failure(guess(second, second.code));
    expect(locked.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(locked)).toBe("OTP_VERIFY_LOCKED");
    expect(Number(locked.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds)).toBe(60);

    h.clock.advance(minute);
    await expect(guess(second, second.code)).resolves.toBeDefined();
  });

  it("doubles the lock with every further wrong code", async () => {
    const email = uniqueEmail();
    const retryAfterSeconds: number[] = [];
    let sent = await sendChallenge(h, email);
    const guess = (code: string) => h.client.verifyOtp(verifyRequest(email, code, OtpPurpose.LOGIN, sent.challengeId));
    let attemptsOnCode = 0;
    for (let failures = 1; failures <= 8; failures++) {
      if (attemptsOnCode === 3) {
        h.clock.advance(15 * minute); // out of the send window
        sent = await sendChallenge(h, email);
        attemptsOnCode = 0;
      }
      await failure(guess(wrongCode(sent.code)));
      attemptsOnCode++;
      if (failures >= 5) {
        const locked = await failure(guess(sent.code));
        expect(locked.code).toBe(Code.ResourceExhausted);
        const seconds = Number(locked.findDetails(RetryInfoSchema)[0]!.retryDelay!.seconds);
        retryAfterSeconds.push(seconds);
        h.clock.advance(seconds * 1000);
      }
    }
    expect(retryAfterSeconds).toEqual([60, 120, 240, 480]);
  });

  it("forgets earlier failures after a right code", async () => {
    const email = uniqueEmail();
    let sent = await sendChallenge(h, email);
    const guess = (code: string) => h.client.verifyOtp(verifyRequest(email, code, OtpPurpose.LOGIN, sent.challengeId));
    for (let i = 0; i < 2; i++) await failure(guess(wrongCode(sent.code)));
    await guess(sent.code);
    sent = await sendChallenge(h, email);
    for (let i = 0; i < 2; i++) await failure(guess(wrongCode(sent.code)));
    // 4 wrong codes in all, but only 2 since the success: no lock.
    await expect(guess(sent.code)).resolves.toBeDefined();
  });

  it("never lets 20 concurrent wrong guesses past the per-code limit", async () => {
    const email = uniqueEmail();
    const { code, challengeId } = await sendChallenge(h, email);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        h.client.verifyOtp(verifyRequest(email, wrongCode(code), OtpPurpose.LOGIN, challengeId)),
      ),
    );
    const codes = results.map((r) => (r.status === "rejected" ? ConnectError.from(r.reason).code : "ok"));
    expect(codes.filter((c) => c === Code.Unauthenticated)).toHaveLength(3);
    expect(codes.filter((c) => c === Code.FailedPrecondition)).toHaveLength(17);
    const row = await h.auth.handle.runtime.db
      .selectFrom("otp_codes")
      .select(["attempts", "closed_at"])
      .where("identifier", "=", email)
      .executeTakeFirstOrThrow();
    expect(row.attempts).toBe(3);
    expect(row.closed_at).not.toBeNull();
  });

  it("never lets 20 concurrent wrong guesses without a challenge past their allowance, nor touch the code", async () => {
    const email = uniqueEmail();
    const { code, challengeId } = await sendChallenge(h, email);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => h.client.verifyOtp(verifyRequest(email, wrongCode(code)))),
    );
    const codes = results.map((r) => (r.status === "rejected" ? ConnectError.from(r.reason).code : "ok"));
    expect(codes.filter((c) => c === Code.Unauthenticated)).toHaveLength(3);
    expect(codes.filter((c) => c === Code.ResourceExhausted)).toHaveLength(17);
    await expect(h.client.verifyOtp(verifyRequest(email, code, OtpPurpose.LOGIN, challengeId))).resolves.toBeDefined();
  });

  it("turns one code into exactly one token under 20 concurrent right guesses", async () => {
    const email = uniqueEmail();
    const code = await sendCode(h, email);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => h.client.verifyOtp(verifyRequest(email, code))),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results
      .filter((r) => r.status === "rejected")
      .map((r) => ConnectError.from((r as PromiseRejectedResult).reason).code);
    expect(refused).toEqual(Array(19).fill(Code.FailedPrecondition));
    const tokens = await h.auth.handle.runtime.db
      .selectFrom("verification_tokens")
      .select("otp_id")
      .where("identifier", "=", email)
      .execute();
    expect(tokens).toHaveLength(1);
  });

  it("announces auth.otp.verified with the attempts it took, and neither the code nor the token", async () => {
    const email = uniqueEmail();
    const { code, challengeId } = await sendChallenge(h, email);
    await failure(h.client.verifyOtp(verifyRequest(email, wrongCode(code), OtpPurpose.LOGIN, challengeId)));
    const { verificationToken } = await h.client.verifyOtp(verifyRequest(email, code, OtpPurpose.LOGIN, challengeId));
    const event = (await waitFor(() => h.events.decoded("auth.otp.verified").find((e) => e.identifier === email)))!;
    expect(event.attempts).toBe(2);
    expect(event.purpose).toBe(OtpPurpose.LOGIN);
    expect(event.otpId).toBe(h.events.decoded("auth.otp.sent").find((e) => e.identifier === email)!.otpId);
    const raw = h.events.events.find((e) => e.msgId === event.eventId)!;
    expect(Buffer.from(raw.payload).includes(code)).toBe(false);
    expect(Buffer.from(raw.payload).includes(verificationToken)).toBe(false);
  });

  it("refuses a malformed code with INVALID_ARGUMENT naming the field, before counting anything", async () => {
    const email = uniqueEmail();
    const code = await sendCode(h, email);
    const error = await failure(h.client.verifyOtp(verifyRequest(email, "12ab")));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("code");
    const grpcError = await h.grpc
      .VerifyOtp({
        identifier: email,
        identifier_type: "IDENTIFIER_TYPE_EMAIL",
        code: "1234567",
        purpose: "OTP_PURPOSE_LOGIN",
      })
      .catch((e: grpc.ServiceError) => e);
    expect((grpcError as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    const badChallenge = await failure(
      h.client.verifyOtp(verifyRequest(email, code, OtpPurpose.LOGIN, "not-a-challenge")),
    );
    expect(badChallenge.code).toBe(Code.InvalidArgument);
    expect(badChallenge.rawMessage).toContain("challenge_id");
    await expect(h.client.verifyOtp(verifyRequest(email, code))).resolves.toBeDefined();
  });
});
