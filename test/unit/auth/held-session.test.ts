import { describe, expect, it } from "vitest";
import { heldSessionAccepts, type SessionHold } from "../../../services/auth/domain/held-session.js";

// A held session steps up only with a proof other than its sign-in's, made of things the account
// held before the session started (docs/product.md, "Step-up").

const startedAt = new Date("2026-03-01T12:00:00Z");
const before = new Date(startedAt.getTime() - 60_000);
const after = new Date(startedAt.getTime() + 1);
const session = (over: Partial<SessionHold>): SessionHold => ({
  held: true,
  method: "otp",
  signInIdentifier: "me@example.com",
  startedAt,
  ...over,
});

describe("heldSessionAccepts", () => {
  it("accepts any proof on a session that holds an authentication", () => {
    const free = session({ held: false, method: "password" });
    expect(heldSessionAccepts(free, { kind: "password", setAt: after })).toBe(true);
    expect(heldSessionAccepts(free, { kind: "otp", identifier: "new@example.com", heldSince: after })).toBe(true);
  });

  it("takes only a code to an identifier held before a held password sign-in", () => {
    const held = session({ method: "password" });
    expect(heldSessionAccepts(held, { kind: "password", setAt: before })).toBe(false);
    expect(heldSessionAccepts(held, { kind: "otp", identifier: "me@example.com", heldSince: before })).toBe(true);
    expect(heldSessionAccepts(held, { kind: "otp", identifier: "me@example.com", heldSince: startedAt })).toBe(true);
    expect(heldSessionAccepts(held, { kind: "otp", identifier: "me@example.com", heldSince: after })).toBe(false);
  });

  it("takes another identifier's code or an older password for a held code sign-in, never its own identifier", () => {
    const held = session({});
    expect(heldSessionAccepts(held, { kind: "otp", identifier: "me@example.com", heldSince: before })).toBe(false);
    expect(heldSessionAccepts(held, { kind: "otp", identifier: "+14155550100", heldSince: before })).toBe(true);
    expect(heldSessionAccepts(held, { kind: "otp", identifier: "+14155550100", heldSince: after })).toBe(false);
    expect(heldSessionAccepts(held, { kind: "password", setAt: before })).toBe(true);
    expect(heldSessionAccepts(held, { kind: "password", setAt: after })).toBe(false);
  });

  it("accepts no code for a held code sign-in whose identifier was not recorded", () => {
    const held = session({ signInIdentifier: null });
    expect(heldSessionAccepts(held, { kind: "otp", identifier: "+14155550100", heldSince: before })).toBe(false);
    expect(heldSessionAccepts(held, { kind: "password", setAt: before })).toBe(true);
  });
});
