import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/index.js";
import { startUserHarness, type UserHarness, type UserInstance } from "./harness.js";

// GetMe's profile cache with two instances on one database and one NATS: it serves from memory,
// the writing instance reads its own change at once, the other one as soon as the change's event
// arrives, and while NATS is down (no events) both read the database.

describe("GetMe's profile cache across instances", () => {
  let h: UserHarness;
  let other: UserInstance;

  beforeAll(async () => {
    h = await startUserHarness();
    other = await h.startInstance();
    await Promise.all([h.user.handle.profileCache?.changes.ready, other.handle.profileCache?.changes.ready]);
  });
  afterAll(async () => {
    await h?.close();
  });

  const nameOn = async (instance: UserInstance, as: Parameters<UserInstance["client"]["getMe"]>[1]) =>
    (await instance.client.getMe({}, as)).user!.name;

  it("answers GetMe from memory once it has read the profile", async () => {
    const person = await h.signUp({ name: "Cached" });
    await nameOn(other, person.as);
    // Behind the service's back (no event): the cache does not see it, which shows it answered.
    await h.user.handle.runtime.db
      .updateTable("users")
      .set({ name: "Changed in SQL" })
      .where("id", "=", person.userId)
      .execute();
    expect(await nameOn(other, person.as)).toBe("Cached");
    expect(other.handle.profileCache!.cache.size()).toBeGreaterThan(0);
  });

  it("shows a change at once on the instance that made it, and on the other one when its event arrives", async () => {
    const person = await h.signUp({ name: "Before" });
    expect(await nameOn(other, person.as)).toBe("Before");
    await h.client.updateMe({ name: "After" }, person.as);
    expect(await nameOn(h.user, person.as)).toBe("After");
    await waitFor(async () => (await nameOn(other, person.as)) === "After", { timeoutMs: 5_000, intervalMs: 10 });
  });

  it("reads the database while NATS is down, and caches again once the feed has resumed", async () => {
    const person = await h.signUp({ name: "Online" });
    expect(await nameOn(other, person.as)).toBe("Online");
    await h.nats.stop();
    try {
      await waitFor(() => !other.handle.profileCache!.changes.isCurrent(), { timeoutMs: 15_000 });
      expect(other.handle.profileCache!.cache.size()).toBe(0);
      await h.client.updateMe({ name: "Offline change" }, person.as);
      expect(await nameOn(other, person.as)).toBe("Offline change");
    } finally {
      await h.nats.start();
    }
    await waitFor(() => other.handle.profileCache!.changes.isCurrent(), { timeoutMs: 15_000 });
    expect(await nameOn(other, person.as)).toBe("Offline change");
    expect(other.handle.profileCache!.cache.size()).toBe(1);
  });
});
