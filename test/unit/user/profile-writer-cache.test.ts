import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import { createProfileCache } from "../../../services/user/domain/profile-cache.js";
import { createProfileWriter } from "../../../services/user/domain/profile-writer.js";
import type { UserProfile } from "../../../services/user/domain/profile.js";
import type { UserDatabase } from "../../../services/user/store/schema.js";
import { manualClock } from "../../fixtures/manual-clock.js";

// load({ cached: true }) answers a cached profile at once only when no automatic move is due; a
// profile whose suspension has ended, or a dormant one the caller's own request wakes, goes the whole
// way (read, settle, write). Here the database and transactions throw, so reaching them shows.

const userId = "0b7e8b1e-7a43-4b3c-9a55-1f0a2b3c4d5e";

function setup(profile: Partial<UserProfile>, options: { feedCurrent?: boolean } = {}) {
  const clock = manualClock(new Date("2026-12-01T00:00:00Z"));
  let current = true;
  const cache = createProfileCache({ clock, maxEntries: 10, ttlMs: 60_000, isCurrent: () => current });
  const untouchable = new Proxy(
    {},
    {
      get() {
        throw new Error("the database was asked");
      },
    },
  ) as Kysely<UserDatabase>;
  const writer = createProfileWriter({
    db: untouchable,
    transact: () => Promise.reject(new Error("a transaction was started")),
    clock,
    cache,
  });
  const cached = {
    id: userId,
    lifecycleState: "active",
    suspendedUntil: null,
    version: 1,
    ...profile,
  } as unknown as UserProfile;
  return {
    clock,
    writer,
    fill: async () => {
      await cache.read(userId, async () => cached);
      current = options.feedCurrent ?? true;
    },
  };
}

describe("profile writer, load of a cached profile", () => {
  it("answers a cached profile with nothing due without asking the database", async () => {
    const { writer, fill } = setup({ lifecycleState: "active" });
    await fill();
    await expect(writer.load(userId, { cached: true, wakeDormant: true })).resolves.toMatchObject({
      lifecycleState: "active",
    });
  });

  it("does not answer a cached dormant profile to its own owner: the request wakes it (a write)", async () => {
    const { writer, fill } = setup({ lifecycleState: "dormant" });
    await fill();
    await expect(writer.load(userId, { cached: true, wakeDormant: true })).rejects.toThrow("a transaction was started");
    // Someone else's read (no wake-up) is answered from the cache.
    await expect(writer.load(userId, { cached: true })).resolves.toMatchObject({ lifecycleState: "dormant" });
  });

  it("does not answer a cached suspension that has ended: it is lifted first (a write)", async () => {
    const { writer, fill, clock } = setup({
      lifecycleState: "suspended",
      suspendedUntil: new Date("2026-12-01T00:00:30Z"),
    });
    await fill();
    await expect(writer.load(userId, { cached: true })).resolves.toMatchObject({ lifecycleState: "suspended" });
    clock.advance(30_000);
    await expect(writer.load(userId, { cached: true })).rejects.toThrow("a transaction was started");
  });

  it("reads the database while the change feed is not current", async () => {
    const { writer, fill } = setup({ lifecycleState: "active" }, { feedCurrent: false });
    await fill();
    await expect(writer.load(userId, { cached: true })).rejects.toThrow("the database was asked");
  });
});
