import { describe, expect, it } from "vitest";
import { type Argon2Parameters, createArgon2Hasher } from "../../../services/auth/domain/password-hasher.js";

// Password hashing behind its port, with argon2id parameters far cheaper than production's so the
// rules run in milliseconds: normalisation, re-hashing on new parameters, and no throw on junk.

const cheap: Argon2Parameters = { memoryCost: 1_024, timeCost: 1, parallelism: 1 };

describe("password hashing", () => {
  it("checks a password against its own hash, and refuses another", async () => {
    const hasher = await createArgon2Hasher(cheap);
    const stored = await hasher.hash("correct horse battery staple");
    expect(await hasher.verify(stored, "correct horse battery staple")).toBe(true);
    expect(await hasher.verify(stored, "correct horse battery stapler")).toBe(false);
  });

  it("treats the same password typed with composed or decomposed characters as one (NFKC)", async () => {
    const hasher = await createArgon2Hasher(cheap);
    const stored = await hasher.hash("caf\u00e9-\uFB01t");
    expect(await hasher.verify(stored, "cafe\u0301-fit")).toBe(true);
  });

  it("says no, without throwing, for a stored value that is not a hash", async () => {
    const hasher = await createArgon2Hasher(cheap);
    expect(await hasher.verify("not a hash", "anything")).toBe(false);
  });

  it("asks for a re-hash of a hash made with other parameters, or of junk", async () => {
    const today = await createArgon2Hasher(cheap);
    const tomorrow = await createArgon2Hasher({ ...cheap, timeCost: 2 });
    const stored = await today.hash("secret");
    expect(today.needsRehash(stored)).toBe(false);
    expect(tomorrow.needsRehash(stored)).toBe(true);
    expect(today.needsRehash("junk")).toBe(true);
  });

  it("keeps a dummy hash with today's parameters that no password matches", async () => {
    const hasher = await createArgon2Hasher(cheap);
    expect(hasher.needsRehash(hasher.dummyHash)).toBe(false);
    expect(await hasher.verify(hasher.dummyHash, "")).toBe(false);
  });
});
