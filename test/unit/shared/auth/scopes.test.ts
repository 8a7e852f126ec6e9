import { describe, expect, it } from "vitest";
import { formatScope, isServiceScope, parseScope } from "../../../../services/shared/auth/scopes.js";

// The OAuth 2.0 `scope` value (RFC 6749 section 3.3) and the scopes a service account may hold.

describe("scopes", () => {
  it("reads space-separated scope tokens, collapsing repeats, and an empty value as none", () => {
    expect(parseScope("users.read users.kyc users.read")).toEqual(["users.read", "users.kyc"]);
    expect(parseScope("")).toEqual([]);
    expect(parseScope("x!#[]~")).toEqual(["x!#[]~"]);
  });

  it.each([" users.read", "users.read ", "a  b", 'a"b', "a\\b", "a\tb", "é"])(
    "refuses the malformed value %j",
    (value) => {
      expect(parseScope(value)).toBeUndefined();
    },
  );

  it("writes scopes in one order, and knows the service scopes", () => {
    expect(formatScope(["users.read", "users.kyc"])).toBe("users.kyc users.read");
    expect(["users.read", "users.moderate", "users.kyc", "users.write"].map(isServiceScope)).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });
});
