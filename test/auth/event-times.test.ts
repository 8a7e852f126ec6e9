import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { connectAuthClient, type RunningService } from "../fixtures/services.js";
import { startAuthHarness, uniqueEmail, verifyRequest, type AuthHarness } from "./auth-harness.js";

// An event's occurred_at is when its change committed, not when the request arrived. SendOtp stores
// its code only after the delivery accepted it, so a slow delivery must not make auth.otp.sent look
// older than the code it announces; the code's lifetime still counts from the request.

const deliveryTakesMs = 30_000;
const codeLifetimeMs = 5 * 60_000;

describe("event times", () => {
  let h: AuthHarness;
  let slow: RunningService<AuthServiceHandle>;

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

    const sent = await h.events.waitForEvents("auth.otp.sent", 1);
    const event = sent.find((candidate) => candidate.identifier === email);
    expect(event?.occurredAt && timestampMs(event.occurredAt)).toBe(requestedAt + deliveryTakesMs);
    expect(event?.expiresAt && timestampMs(event.expiresAt)).toBe(requestedAt + codeLifetimeMs);

    // Stored at the later time, the code is still the one a check finds, and it works.
    const verified = await h.client.verifyOtp(
      verifyRequest(email, h.capture.lastCode(email), OtpPurpose.LOGIN, answer.challengeId),
    );
    expect(verified.verificationToken).toMatch(/^mvt_/);
    const [checked] = (await h.events.waitForEvents("auth.otp.verified", 1)).filter(
      (candidate) => candidate.identifier === email,
    );
    expect(checked?.occurredAt && timestampMs(checked.occurredAt)).toBe(h.clock.now().getTime());
  });
});
