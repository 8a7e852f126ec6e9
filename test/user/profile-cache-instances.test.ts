import { fromBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventCatalog, type EventSubject } from "../../services/shared/events/catalog.js";
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

  /**
   * Waits until `instance`'s feed is current and has applied the event on `subject` about `userId`.
   * Until then that event is still on its way through the outbox and NATS (later on a busy machine),
   * and when it arrives it drops the user's entry, or keeps a read in flight from being cached, as
   * it should: a test that expects an answer from memory must wait for it first. After an outage
   * the relay and the feed resume with backoff (up to 5 s each), hence the longer bound.
   */
  async function feedHasApplied(instance: UserInstance, subject: EventSubject, userId: string): Promise<void> {
    const sequence = await waitFor(
      () =>
        h.events.events.find(
          (received) =>
            received.subject === subject &&
            (fromBinary(eventCatalog[subject], received.payload) as { userId?: string }).userId === userId,
        )?.sequence,
      { timeoutMs: 15_000 },
    );
    const feed = instance.handle.profileCache!.changes;
    await waitFor(() => feed.isCurrent() && feed.lastSequence() >= sequence!, { timeoutMs: 15_000 });
  }

  it("answers GetMe from memory once it has read the profile", async () => {
    const person = await h.signUp({ name: "Cached" });
    await feedHasApplied(other, "user.profile.created", person.userId);
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
    await feedHasApplied(other, "user.profile.updated", person.userId);
    expect(await nameOn(other, person.as)).toBe("Offline change");
    expect(other.handle.profileCache!.cache.size()).toBe(1);
  });
});
