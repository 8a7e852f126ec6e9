import { create, type DescMessage } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { describe, expect, it } from "vitest";
import {
  LoginRequestSchema,
  RefreshTokenRequestSchema,
  StepUpRequestSchema,
  ValidateTokenRequestSchema,
} from "../../../gen/mintcoin/auth/v1/auth_pb.js";

// Token fields are bounded in bytes at both ends (min_bytes: 1, max_bytes: 4096): tokens are ASCII,
// so a byte count says what a character count would, without walking a JWT's code points per call.

const validator = createValidator();

const cases: Array<[string, DescMessage, (token: string) => object, string]> = [
  ["ValidateToken", ValidateTokenRequestSchema, (token) => ({ accessToken: token }), "access_token"],
  ["RefreshToken", RefreshTokenRequestSchema, (token) => ({ refreshToken: token, deviceId: "d1" }), "refresh_token"],
  ["Login", LoginRequestSchema, (token) => ({ verificationToken: token, deviceId: "d1" }), "verification_token"],
  [
    "StepUp",
    StepUpRequestSchema,
    (token) => ({ proof: { case: "verificationToken", value: token } }),
    "verification_token",
  ],
];

function violationsOf(schema: DescMessage, init: object) {
  const result = validator.validate(schema, create(schema, init as never));
  return result.kind === "invalid"
    ? result.violations.map((violation) => ({ rule: violation.ruleId, field: violation.toString() }))
    : [];
}

describe.each(cases)("%s's token field", (_rpc, schema, request, field) => {
  it("refuses an empty token with string.min_bytes, naming the field", () => {
    const violations = violationsOf(schema, request(""));
    expect(violations).toHaveLength(1);
    expect(violations[0]?.rule).toBe("string.min_bytes");
    expect(violations[0]?.field).toContain(field);
  });

  it("takes a token of 1 and of 4096 bytes, and refuses one of 4097 with string.max_bytes", () => {
    expect(violationsOf(schema, request("a"))).toEqual([]);
    expect(violationsOf(schema, request("a".repeat(4096)))).toEqual([]);
    expect(violationsOf(schema, request("a".repeat(4097))).map((violation) => violation.rule)).toEqual([
      "string.max_bytes",
    ]);
  });
});
