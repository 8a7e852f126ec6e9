import { describe, expect, it } from "vitest";
import { intersectSubjects } from "../../services/client/subjects.js";

describe("intersectSubjects (which part of a stream a tail filter selects)", () => {
  it.each([
    [">", "auth.>", "auth.>"],
    ["auth.>", "auth.>", "auth.>"],
    ["auth.session.>", "auth.>", "auth.session.>"],
    ["user.suspended", "user.>", "user.suspended"],
    ["*.suspended", "user.>", "user.suspended"],
    ["*.login", "auth.>", "auth.login"],
    ["auth.*", "auth.>", "auth.*"],
  ])("%s within %s is %s", (filter, stream, expected) => {
    expect(intersectSubjects(filter, stream)).toBe(expected);
    expect(intersectSubjects(stream, filter)).toBe(expected);
  });

  it.each([
    ["user.suspended", "auth.>"],
    ["auth", "auth.>"], // ">" needs at least one more token
    ["auth.login.x", "auth.*"],
  ])("%s and %s share no subject", (a, b) => {
    expect(intersectSubjects(a, b)).toBeUndefined();
  });
});
