import { describe, expect, it } from "vitest";
import type { Clock } from "../../../services/shared/clock.js";
import { InvalidArgumentError } from "../../../services/shared/errors/domain-errors.js";
import {
  assertAvatarUrl,
  assertDateOfBirth,
  assertInterests,
  optionalText,
} from "../../../services/user/domain/profile-values.js";

// The profile checks that the .proto rules cannot express.

const today: Clock = { now: () => new Date("2026-03-01T12:00:00Z") };

function fieldRefused(check: () => void): string {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as InvalidArgumentError).field;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

describe("avatar URL", () => {
  it.each(["https://cdn.example.com/a.png", "http://example.com/a.png"])("accepts %s", (url) => {
    expect(() => assertAvatarUrl(url)).not.toThrow();
  });

  it("accepts no avatar", () => {
    expect(() => assertAvatarUrl(null)).not.toThrow();
  });

  it.each(["javascript:alert(1)", "data:image/png;base64,AAAA", "file:///etc/passwd", "ftp://example.com/a.png"])(
    "refuses %s, which a browser would do something other than show",
    (url) => {
      expect(fieldRefused(() => assertAvatarUrl(url))).toBe("avatar_url");
    },
  );

  it("refuses what is not a URL at all", () => {
    expect(fieldRefused(() => assertAvatarUrl("not a url"))).toBe("avatar_url");
  });
});

describe("date of birth", () => {
  it.each(["1990-07-15", "2000-02-29", "1900-01-01", "2026-03-01"])("accepts %s", (date) => {
    expect(() => assertDateOfBirth(date, today)).not.toThrow();
  });

  it.each(["2001-02-29", "1990-02-30", "1990-13-01", "1990-00-10", "1990-7-15", "15/07/1990"])(
    "refuses %s, which is not a real date",
    (date) => {
      expect(fieldRefused(() => assertDateOfBirth(date, today))).toBe("date_of_birth");
    },
  );

  it("refuses a date after today, by the injected clock", () => {
    expect(fieldRefused(() => assertDateOfBirth("2026-03-02", today))).toBe("date_of_birth");
  });

  it("refuses a date before 1900", () => {
    expect(fieldRefused(() => assertDateOfBirth("1899-12-31", today))).toBe("date_of_birth");
  });
});

describe("interests", () => {
  it("refuses a blank interest", () => {
    expect(fieldRefused(() => assertInterests(["chess", "  "]))).toBe("interests");
  });

  it("accepts none, or any that are not blank", () => {
    expect(() => assertInterests([])).not.toThrow();
    expect(() => assertInterests(["chess", "go"])).not.toThrow();
  });
});

describe("optional text", () => {
  it("reads an empty string as 'not given' and keeps anything else as written", () => {
    expect(optionalText("")).toBeNull();
    expect(optionalText(" ")).toBe(" ");
    expect(optionalText("London")).toBe("London");
  });
});
