import { describe, expect, it } from "vitest";
import { isDependencyUnavailable } from "../../../../services/shared/errors/unavailable.js";

// Which failures mean "the database is unreachable or restarting, retry" (UNAVAILABLE) rather than
// a bug (INTERNAL).

const withCode = (code: string, message = "failed") => Object.assign(new Error(message), { code });

describe("dependency unavailable", () => {
  it.each(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN"])(
    "is a connection failure %s",
    (code) => {
      expect(isDependencyUnavailable(withCode(code))).toBe(true);
    },
  );

  it.each([
    ["08006", "connection failure"],
    ["08001", "cannot connect"],
    ["57P01", "admin shutdown"],
    ["57P02", "crash shutdown"],
    ["57P03", "cannot connect now"],
    ["40001", "serialization failure"],
    ["40P01", "deadlock"],
  ])("is Postgres SQLSTATE %s (%s)", (code) => {
    expect(isDependencyUnavailable(withCode(code))).toBe(true);
  });

  it.each([
    ["23505", "unique violation"],
    ["22021", "bad character"],
    ["42P01", "undefined table"],
    ["57014", "query cancelled"],
  ])("is not SQLSTATE %s (%s), a bug or a bad request", (code) => {
    expect(isDependencyUnavailable(withCode(code))).toBe(false);
  });

  it("is the pg driver's messages for a dropped or unobtainable connection", () => {
    expect(isDependencyUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isDependencyUnavailable(new Error("timeout exceeded when trying to connect"))).toBe(true);
  });

  it("is found up to a few causes deep", () => {
    const wrapped = new Error("outer", { cause: new Error("middle", { cause: withCode("ECONNREFUSED") }) });
    expect(isDependencyUnavailable(wrapped)).toBe(true);
  });

  it("is not an ordinary error, or anything that is not an Error", () => {
    expect(isDependencyUnavailable(new TypeError("x is undefined"))).toBe(false);
    expect(isDependencyUnavailable("ECONNREFUSED")).toBe(false);
    expect(isDependencyUnavailable(undefined)).toBe(false);
  });

  it("stops looking after five causes, so a cycle of causes cannot hang it", () => {
    const looped = new Error("a");
    looped.cause = looped;
    expect(isDependencyUnavailable(looped)).toBe(false);
    let deep: Error = withCode("ECONNREFUSED");
    for (let level = 0; level < 5; level++) deep = new Error(`level ${level}`, { cause: deep });
    expect(isDependencyUnavailable(deep)).toBe(false);
  });
});
