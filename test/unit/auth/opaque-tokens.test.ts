import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashOpaqueToken, looksLikeToken, newOpaqueToken } from "../../../services/auth/domain/opaque-tokens.js";

// Verification and refresh tokens: a prefix saying what they are, 256 random bits, and only their
// SHA-256 stored.

describe("opaque tokens", () => {
  it("start with mvt_ for verification and mrt_ for refresh, then 43 base64url characters", () => {
    expect(newOpaqueToken("verification").token).toMatch(/^mvt_[A-Za-z0-9_-]{43}$/);
    expect(newOpaqueToken("refresh").token).toMatch(/^mrt_[A-Za-z0-9_-]{43}$/);
  });

  it("are stored as the SHA-256 of the whole string", () => {
    const { token, hash } = newOpaqueToken("refresh");
    expect(Buffer.from(hash)).toEqual(createHash("sha256").update(token).digest());
    expect(Buffer.from(hashOpaqueToken(token))).toEqual(Buffer.from(hash));
  });

  it("are never the same twice", () => {
    const tokens = new Set(Array.from({ length: 100 }, () => newOpaqueToken("refresh").token));
    expect(tokens.size).toBe(100);
  });

  it("are recognised by shape, so anything else is refused without a lookup", () => {
    const refresh = newOpaqueToken("refresh").token;
    expect(looksLikeToken("refresh", refresh)).toBe(true);
    expect(looksLikeToken("verification", refresh)).toBe(false);
    expect(looksLikeToken("refresh", `${refresh}x`)).toBe(false);
    expect(looksLikeToken("refresh", refresh.slice(0, -1))).toBe(false);
    expect(looksLikeToken("refresh", "")).toBe(false);
  });
});
