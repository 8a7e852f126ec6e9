import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { connectAuthClient, type RunningService } from "../fixtures/services.js";
import { waitFor } from "../support/index.js";
import type { Clock } from "../../services/shared/clock.js";
import { signIn, startAuthHarness, uniqueEmail, verifyRequest, type AuthHarness } from "./auth-harness.js";

// An event's occurred_at is when its change committed, not when the request arrived. SendOtp stores
// its code only after the delivery accepted it, so a slow delivery must not make auth.otp.sent look
// older than the code it announces; the code's lifetime still counts from the request. VerifyOtp and
// RefreshToken read, decide, then write: their events are dated at the write, not the request.

const deliveryTakesMs = 30_000;
const codeLifetimeMs = 5 * 60_000;
const verificationTokenLifetimeMs = 5 * 60_000;

/** A clock one second further on at every reading: any later reading in a call shows. */
function tickingClock(): Clock {
  let current = Date.now();
  return {
    now() {
      current += 1_000;
      return new Date(current);
    },
  };
}

describe("event times", () => {
  let h: AuthHarness;
  let slow: RunningService<AuthServiceHandle>;
  let ticking: RunningService<AuthServiceHandle>;

  beforeAll(async () => {
    h = await startAuthHarness();
    // The same capture, but every delivery takes 30 s on the services' clock.
    slow = await h.startAnother({
      delivery: {
        channelName: "capture",
        async deliver(request) {
          h.capture.sent.push(request);
          h.clock.advance(deliveryTakesMs);
        },
      },
    });
    ticking = await h.startAnother({ clock: tickingClock() });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("dates auth.otp.sent when the code was stored, after its delivery, and its expiry from the request", async () => {
    const email = uniqueEmail("slow-delivery");
    const requestedAt = h.clock.now().getTime();
    const answer = await connectAuthClient(slow.baseUrl).sendOtp({
      identifier: email,
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
    });
    expect(answer.expiresAt && timestampMs(answer.expiresAt)).toBe(requestedAt + codeLifetimeMs);

    const event = await waitFor(() =>
      h.events.decoded("auth.otp.sent").find((candidate) => candidate.identifier === email),
    );
    expect(event?.occurredAt && timestampMs(event.occurredAt)).toBe(requestedAt + deliveryTakesMs);
    expect(event?.expiresAt && timestampMs(event.expiresAt)).toBe(requestedAt + codeLifetimeMs);

    // The code is still the one a check finds, and it works.
    const verified = await h.client.verifyOtp(
      verifyRequest(email, h.capture.lastCode(email), OtpPurpose.LOGIN, answer.challengeId),
    );
    expect(verified.verificationToken).toMatch(/^mvt_/);
  });

  it("dates auth.otp.verified when the right code is recorded, after the read that decided", async () => {
    const email = uniqueEmail("verify-time");
    const answer = await h.client.sendOtp({
      identifier: email,
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
    });
    const client = connectAuthClient(ticking.baseUrl);
    const request = verifyRequest(email, h.capture.lastCode(email), OtpPurpose.LOGIN, answer.challengeId);
    const verified = await client.verifyOtp(request);
    // The token's lifetime counts from the request's reading of the clock.
    const requestedAt = timestampMs(verified.expiresAt!) - verificationTokenLifetimeMs;
    const event = await waitFor(() =>
      h.events.decoded("auth.otp.verified").find((candidate) => candidate.identifier === email),
    );
    expect(event?.occurredAt && timestampMs(event.occurredAt)).toBeGreaterThan(requestedAt);
  });

  it("dates auth.session.refreshed when the rotation is written, after the read that decided", async () => {
    const login = await signIn(h, uniqueEmail("refresh-time"), { deviceId: "device-time" });
    const client = connectAuthClient(ticking.baseUrl);
    const refreshed = await client.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "device-time" });
    // The new access token is issued at the request's reading of the clock (iat, in whole seconds).
    const issuedAtSeconds = JSON.parse(
      Buffer.from(refreshed.tokens!.accessToken.split(".")[1]!, "base64url").toString(),
    ).iat;
    const event = await waitFor(() =>
      h.events.decoded("auth.session.refreshed").find((candidate) => candidate.sessionId === login.sessionId),
    );
    expect(event?.occurredAt && timestampMs(event.occurredAt)).toBeGreaterThanOrEqual((issuedAtSeconds + 1) * 1000);
  });
});
