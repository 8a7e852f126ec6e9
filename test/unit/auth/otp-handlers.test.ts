import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { AuthService, IdentifierType, OtpPurpose } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { OtpService, SendOtpInput } from "../../../services/auth/domain/otp-service.js";
import type { OtpVerification, VerifyOtpInput } from "../../../services/auth/domain/otp-verification.js";
import { createOtpHandlers } from "../../../services/auth/handlers/otp-handlers.js";
import { RateLimitedError, UnauthenticatedError } from "../../../services/shared/errors/domain-errors.js";
import { inMemoryTransport } from "../support/in-memory-rpc.js";

// SendOtp and VerifyOtp as a client calls them, with the domain replaced by small fakes that record
// what the handlers hand them: the handlers' job is proto in, domain call, proto out.

const expiresAt = new Date("2026-03-01T12:05:00Z");
const resendAvailableAt = new Date("2026-03-01T12:01:00Z");

/**
 * One client for the file (the .proto rules compile once per validator); each test says what the
 * domain answers and reads what it was handed.
 */
const domain: { send: OtpService["send"]; verify: OtpVerification["verify"] } = {
  send: async () => ({ expiresAt, resendAvailableAt, challengeId: `mch_${"c".repeat(43)}` }),
  verify: async () => ({ verificationToken: `mvt_${"v".repeat(43)}`, expiresAt }),
};
const defaults = { ...domain };
const sent: SendOtpInput[] = [];
const verified: VerifyOtpInput[] = [];
const otp: OtpService = {
  send: (input) => {
    sent.push(input);
    return domain.send(input);
  },
};
const otpVerification: OtpVerification = {
  verify: (input) => {
    verified.push(input);
    return domain.verify(input);
  },
};
const client = createClient(
  AuthService,
  inMemoryTransport((router) => router.service(AuthService, createOtpHandlers({ otp, otpVerification })), {
    peer: "198.51.100.20",
  }),
);

beforeEach(() => {
  Object.assign(domain, defaults);
  sent.length = 0;
  verified.length = 0;
});

const sendOtpRequest = {
  identifier: "+44 7911 123456",
  identifierType: IdentifierType.PHONE,
  purpose: OtpPurpose.LOGIN,
  deviceId: "device-1",
};

async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

describe("SendOtp", () => {
  it("hands the domain the request in its own words, with the caller's IP and User-Agent", async () => {
    await client.sendOtp(sendOtpRequest, { headers: { "user-agent": "okhttp/4.12.0" } });
    expect(sent).toEqual([
      {
        identifierType: "phone",
        identifier: "+44 7911 123456",
        purpose: "login",
        deviceId: "device-1",
        ip: "198.51.100.20",
        userAgent: "okhttp/4.12.0",
      },
    ]);
  });

  it("answers when the code expires and when another may be asked for", async () => {
    const response = await client.sendOtp(sendOtpRequest);
    expect(timestampDate(response.expiresAt!)).toEqual(expiresAt);
    expect(timestampDate(response.resendAvailableAt!)).toEqual(resendAvailableAt);
  });

  it.each([
    ["an unspecified identifier type", { identifierType: IdentifierType.UNSPECIFIED }],
    ["an unspecified purpose", { purpose: OtpPurpose.UNSPECIFIED }],
    ["email verification for a phone", { purpose: OtpPurpose.EMAIL_VERIFICATION }],
    ["a device id with spaces", { deviceId: "my phone" }],
  ])("refuses %s before the domain sees it", async (_, change) => {
    const error = await failureOf(client.sendOtp({ ...sendOtpRequest, ...change }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(sent).toEqual([]);
  });

  it("answers the domain's rate limit as RESOURCE_EXHAUSTED with the time to wait", async () => {
    domain.send = () => Promise.reject(new RateLimitedError(42_000, "too many codes", "OTP_RATE_LIMITED"));
    const error = await failureOf(client.sendOtp(sendOtpRequest));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("OTP_RATE_LIMITED");
    expect(error.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds).toBe(42n);
    expect(error.metadata.get("retry-after")).toBe("42");
  });
});

describe("VerifyOtp", () => {
  const verifyOtpRequest = {
    identifier: "ada@example.com",
    identifierType: IdentifierType.EMAIL,
    purpose: OtpPurpose.EMAIL_VERIFICATION,
    code: "042917",
  };

  it("hands the domain the code in its own words and answers the verification token", async () => {
    const response = await client.verifyOtp(verifyOtpRequest, { headers: { "user-agent": "grpc-node-js/1.14.7" } });
    expect(verified).toEqual([
      {
        identifierType: "email",
        identifier: "ada@example.com",
        purpose: "email_verification",
        code: "042917",
        challengeId: "",
        ip: "198.51.100.20",
        userAgent: "grpc-node-js/1.14.7",
      },
    ]);
    expect(response.verificationToken).toMatch(/^mvt_/);
    expect(timestampDate(response.expiresAt!)).toEqual(expiresAt);
  });

  it.each(["12345", "1234567", "12345a", ""])(
    "refuses the code %j, not six digits, before the domain sees it",
    async (code) => {
      expect((await failureOf(client.verifyOtp({ ...verifyOtpRequest, code }))).code).toBe(Code.InvalidArgument);
      expect(verified).toEqual([]);
    },
  );

  it("answers a wrong code as UNAUTHENTICATED with OTP_INVALID", async () => {
    domain.verify = () => Promise.reject(new UnauthenticatedError("the code is not correct", "OTP_INVALID"));
    const error = await failureOf(client.verifyOtp(verifyOtpRequest));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("OTP_INVALID");
  });
});
