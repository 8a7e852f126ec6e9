import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../services/shared/errors/domain-errors.js";
import { normalizeEmail, normalizeIdentifier, normalizePhone } from "../../../services/shared/identifiers.js";

// The one spelling of an identifier that both services store, compare and put in tokens.

function refusal(action: () => unknown): InvalidArgumentError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as InvalidArgumentError;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

describe("phone numbers", () => {
  it.each(["+44 7911 123456", "+447911123456", " +44 (0)7911-123456 ", "+44.7911.123456"])(
    "writes %j in E.164",
    (raw) => {
      expect(normalizePhone(raw)).toBe("+447911123456");
    },
  );

  it("reads a number without + in the default region when one is configured", () => {
    expect(normalizePhone("07911 123456", "GB")).toBe("+447911123456");
    expect(normalizePhone("(201) 555-0123", "US")).toBe("+12015550123");
  });

  it("asks for the international format when there is no default region", () => {
    const error = refusal(() => normalizePhone("07911 123456"));
    expect(error.field).toBe("phone");
    expect(error.message).toBe("phone: not a valid phone number in international format, starting with +");
  });

  it.each(["+44 7911", "+1 555 0100", "hello", "", "+999 123456789"])(
    "refuses %j, which is not a real number",
    (raw) => {
      expect(refusal(() => normalizePhone(raw)).field).toBe("phone");
    },
  );
});

describe("email addresses", () => {
  it("trims and lower-cases them", () => {
    expect(normalizeEmail("  Ada.Lovelace@Example.COM ")).toBe("ada.lovelace@example.com");
  });

  it.each(["ada", "ada@", "@example.com", "ada@@example.com", "ada lovelace@example.com", ""])("refuses %j", (raw) => {
    const error = refusal(() => normalizeEmail(raw));
    expect(error).toMatchObject({ field: "email", message: "email: not a valid email address" });
  });
});

describe("identifiers", () => {
  it("normalise by their type, so two spellings are one person", () => {
    expect(normalizeIdentifier("phone", "+44 7911 123456")).toBe(normalizeIdentifier("phone", "+447911123456"));
    expect(normalizeIdentifier("email", "ADA@example.com")).toBe("ada@example.com");
  });

  it("name the request field in errors: identifier unless the caller says otherwise", () => {
    expect(refusal(() => normalizeIdentifier("email", "nope")).field).toBe("identifier");
    expect(refusal(() => normalizeIdentifier("phone", "nope", undefined, "new_phone")).message).toMatch(
      /^new_phone: not a valid phone number/,
    );
  });
});
