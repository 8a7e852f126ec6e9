import { describe, expect, it } from "vitest";
import { openTokenPair, sealTokenPair } from "../../../services/auth/domain/refresh-grace.js";

// The grace window of RefreshToken keeps the pair that replaced a token, sealed under a key derived
// from the old token, which the database never holds: only the client presenting it can open it.

const oldToken = `mrt_${"a".repeat(43)}`;
const pair = {
  accessToken: "eyJhbGciOiJFUzI1NiJ9.e30.sig",
  refreshToken: `mrt_${"b".repeat(43)}`,
  tokenType: "Bearer" as const,
  expiresIn: 900,
};

describe("refresh grace box", () => {
  it("gives the very pair back to whoever presents the old token", () => {
    expect(openTokenPair(oldToken, sealTokenPair(oldToken, pair))).toEqual(pair);
  });

  it("opens for no other token", () => {
    expect(openTokenPair(`mrt_${"c".repeat(43)}`, sealTokenPair(oldToken, pair))).toBeNull();
  });

  it("never holds the pair in the clear", () => {
    const box = Buffer.from(sealTokenPair(oldToken, pair)).toString("latin1");
    expect(box).not.toContain(pair.accessToken);
    expect(box).not.toContain(pair.refreshToken);
  });

  it("seals the same pair differently each time (a fresh nonce)", () => {
    expect(Buffer.from(sealTokenPair(oldToken, pair))).not.toEqual(Buffer.from(sealTokenPair(oldToken, pair)));
  });

  it("refuses a box changed in any byte", () => {
    const box = sealTokenPair(oldToken, pair);
    for (const index of [0, 12, box.length - 17, box.length - 1]) {
      const tampered = Uint8Array.from(box);
      tampered[index]! ^= 1;
      expect(openTokenPair(oldToken, tampered)).toBeNull();
    }
  });

  it("refuses a box too short to hold a nonce and a tag", () => {
    expect(openTokenPair(oldToken, new Uint8Array(27))).toBeNull();
    expect(openTokenPair(oldToken, sealTokenPair(oldToken, pair).subarray(0, 40))).toBeNull();
  });
});
