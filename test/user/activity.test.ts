import { timestampDate } from "@bufbuild/protobuf/wkt";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LifecycleState } from "../../gen/mintcoin/user/v1/user_pb.js";
import { createActivityTracker } from "../../services/user/domain/activity.js";
import { createProfileWriter } from "../../services/user/domain/profile-writer.js";
import { manualClock } from "../fixtures/manual-clock.js";
import { waitFor } from "../support/index.js";
import { bearerOptions, startUserHarness, type UserHarness } from "./harness.js";

// last_active_at: updated on activity at most once a minute per user, never a write per request,
// across instances too; a DORMANT user seen active wakes up.

describe("UserService activity tracking", () => {
  const clock = manualClock(new Date());
  let h: UserHarness;

  beforeAll(async () => {
    h = await startUserHarness({ clock });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The row's version in Postgres (xmin changes on every UPDATE that wrote it). */
  async function rowState(userId: string) {
    const { rows } = await sql<{
      xmin: string;
      last_active_at: Date;
    }>`select xmin::text as xmin, last_active_at from users where id = ${userId}`.execute(h.user.handle.runtime.db);
    return rows[0]!;
  }

  /** A tracker like the service's, over the same database, whose touches can be awaited. */
  function tracker() {
    const { db, transact } = h.user.handle.runtime;
    return createActivityTracker({ db, clock, writer: createProfileWriter({ db, transact, clock }) });
  }

  it("updates last_active_at when the user makes requests, at most once a minute", async () => {
    const person = await h.signUp();
    const created = timestampDate(person.user.lastActiveAt!).getTime();
    clock.advance(61_000);
    await h.client.getMe({}, person.as);
    await waitFor(async () => (await rowState(person.userId)).last_active_at.getTime() === created + 61_000);
    // Many requests within the minute: the value stays.
    const afterFirst = await rowState(person.userId);
    for (let i = 0; i < 5; i++) {
      clock.advance(5_000);
      await h.client.checkUsernameAvailability({ username: "someone_else" }, person.as);
    }
    clock.advance(40_000); // 65 s after the last write
    await h.client.getMe({}, person.as);
    await waitFor(async () => (await rowState(person.userId)).last_active_at.getTime() === created + 61_000 + 65_000);
    expect(afterFirst.last_active_at.getTime()).toBe(created + 61_000);
  });

  it("issues no write at all for repeated activity within a minute, on one instance or on another", async () => {
    const person = await h.signUp();
    const first = tracker();
    clock.advance(120_000);
    await first.touch(person.userId);
    const written = await rowState(person.userId);
    expect(written.last_active_at.getTime()).toBe(clock.now().getTime());

    clock.advance(20_000);
    // Throttled in memory: no query, and no promise either (every authenticated call comes here).
    expect(first.touch(person.userId)).toBeUndefined();
    const other = tracker(); // a fresh instance knows nothing: the conditional UPDATE refuses
    await other.touch(person.userId);
    expect(await rowState(person.userId)).toEqual(written);

    clock.advance(41_000); // a minute after the write
    await first.touch(person.userId);
    expect((await rowState(person.userId)).xmin).not.toBe(written.xmin);
  });

  it("wakes a DORMANT user when it is seen active (a sign-in or any request)", async () => {
    const person = await h.signUp();
    const admin = bearerOptions((await h.tokens.admin()).token);
    await h.client.updateLifecycleState({ userId: person.userId, state: LifecycleState.ACTIVE }, admin);
    await h.client.updateLifecycleState({ userId: person.userId, state: LifecycleState.DORMANT }, admin);
    await tracker().touch(person.userId);
    const { user } = await h.client.getUserByPhone({ phone: person.claims.phone! }, admin);
    expect(user!.lifecycleState).toBe(LifecycleState.ACTIVE);
    const [event] = await h.eventsWhere(
      "user.profile.updated",
      (e) => e.userId === person.userId && e.lifecycleState === LifecycleState.ACTIVE && e.actorUserId === "",
    );
    expect(event!.changedFields).toEqual(["lifecycle_state"]);
  });

  it("does not bump the version or emit an event for activity", async () => {
    const person = await h.signUp();
    clock.advance(61_000);
    await tracker().touch(person.userId);
    const { user } = await h.client.getMe({}, person.as);
    expect(user!.version).toBe(person.user.version);
    expect(timestampDate(user!.lastActiveAt!).getTime()).toBe(clock.now().getTime());
  });
});
