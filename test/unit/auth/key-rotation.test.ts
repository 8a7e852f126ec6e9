import { describe, expect, it } from "vitest";
import { leastActivationDelayMs, rotationDue } from "../../../services/auth/domain/key-rotation.js";

// The rotation schedule: a key's successor is published one activation delay before the key has
// signed for the whole interval, so it starts signing exactly one interval after its predecessor.

const minute = 60_000;
const day = 24 * 60 * minute;
const schedule = { intervalMs: 30 * day, activationDelayMs: 10 * minute };

describe("the signing key rotation schedule", () => {
  it("is due one activation delay before the newest key has signed for the whole interval", () => {
    const activatedAt = new Date("2026-01-01T00:00:00Z");
    const dueAt = new Date(activatedAt.getTime() + 30 * day - 10 * minute);
    expect(rotationDue(activatedAt, new Date(dueAt.getTime() - 1), schedule)).toBe(false);
    expect(rotationDue(activatedAt, dueAt, schedule)).toBe(true);
    expect(rotationDue(activatedAt, new Date(dueAt.getTime() + 90 * day), schedule)).toBe(true);
  });

  it("is never due for a key that has not started signing yet (a successor already published)", () => {
    const now = new Date("2026-01-31T00:00:00Z");
    expect(rotationDue(new Date(now.getTime() + 10 * minute), now, schedule)).toBe(false);
  });

  it("publishes a new key at least the key refresh interval plus the JWKS cache time before it signs", () => {
    expect(leastActivationDelayMs(30_000)).toBe(330_000);
  });
});
