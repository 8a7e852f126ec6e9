import { describe, expect, it } from "vitest";
import type { UserProfile } from "../../services/user/domain/profile.js";
import { createProfileCache } from "../../services/user/domain/profile-cache.js";
import { manualClock } from "../fixtures/manual-clock.js";

// The cache's own rules, without a database: what it serves, for how long, and the one race that
// matters (a read in flight while the profile changes must not be cached).

const profile = (id: string, name: string) => ({ id, name, version: 1 }) as unknown as UserProfile;

function setup(options: { maxEntries?: number; ttlMs?: number } = {}) {
  const clock = manualClock(new Date("2026-11-26T00:00:00Z"));
  let current = true;
  const cache = createProfileCache({
    clock,
    maxEntries: options.maxEntries ?? 10,
    ttlMs: options.ttlMs ?? 60_000,
    isCurrent: () => current,
  });
  let loads = 0;
  const loader = (value: UserProfile | undefined) => async () => {
    loads++;
    return value;
  };
  return { clock, cache, loader, loads: () => loads, setCurrent: (value: boolean) => (current = value) };
}

describe("profile cache", () => {
  it("serves a profile it loaded until it is invalidated, then loads it again", async () => {
    const { cache, loader, loads } = setup();
    expect(await cache.read("a", loader(profile("a", "Ann")))).toMatchObject({ name: "Ann" });
    expect(await cache.read("a", loader(profile("a", "other")))).toMatchObject({ name: "Ann" });
    expect(loads()).toBe(1);
    cache.invalidate("a");
    expect(await cache.read("a", loader(profile("a", "Anna")))).toMatchObject({ name: "Anna" });
    expect(loads()).toBe(2);
  });

  it("peek answers at once with what read would serve from the cache, and nothing else", async () => {
    const { cache, clock, loader, setCurrent } = setup({ ttlMs: 1_000 });
    expect(cache.peek("a", clock.now().getTime())).toBeUndefined();
    await cache.read("a", loader(profile("a", "Ann")));
    expect(cache.peek("a", clock.now().getTime())).toMatchObject({ name: "Ann" });
    setCurrent(false);
    expect(cache.peek("a", clock.now().getTime())).toBeUndefined();
    setCurrent(true);
    cache.invalidate("a");
    expect(cache.peek("a", clock.now().getTime())).toBeUndefined();
    await cache.read("a", loader(profile("a", "Ann")));
    clock.advance(1_000);
    expect(cache.peek("a", clock.now().getTime())).toBeUndefined();
  });

  it("does not remember that a profile is missing", async () => {
    const { cache, loader, loads } = setup();
    expect(await cache.read("a", loader(undefined))).toBeUndefined();
    expect(await cache.read("a", loader(profile("a", "Ann")))).toMatchObject({ name: "Ann" });
    expect(loads()).toBe(2);
  });

  it("serves an entry for at most its time to live", async () => {
    const { cache, clock, loader, loads } = setup({ ttlMs: 1_000 });
    await cache.read("a", loader(profile("a", "Ann")));
    clock.advance(999);
    await cache.read("a", loader(profile("a", "later")));
    expect(loads()).toBe(1);
    clock.advance(1);
    expect(await cache.read("a", loader(profile("a", "later")))).toMatchObject({ name: "later" });
  });

  it("drops the least recently used entry beyond its size", async () => {
    const { cache, loader, loads } = setup({ maxEntries: 2 });
    await cache.read("a", loader(profile("a", "A")));
    await cache.read("b", loader(profile("b", "B")));
    await cache.read("a", loader(profile("a", "A")));
    await cache.read("c", loader(profile("c", "C")));
    expect(cache.size()).toBe(2);
    expect(loads()).toBe(3);
    await cache.read("a", loader(profile("a", "A")));
    expect(loads()).toBe(3);
    await cache.read("b", loader(profile("b", "B")));
    expect(loads()).toBe(4);
  });

  it("does not cache a read that was in flight while a profile changed", async () => {
    const { cache, loader } = setup();
    let finish!: (value: UserProfile) => void;
    const inFlight = cache.read("a", () => new Promise<UserProfile>((resolve) => (finish = resolve)));
    cache.invalidate("a");
    finish(profile("a", "old row"));
    expect(await inFlight).toMatchObject({ name: "old row" });
    expect(await cache.read("a", loader(profile("a", "new row")))).toMatchObject({ name: "new row" });
  });

  it("neither serves nor fills while the change feed is not current, and clear() empties it", async () => {
    const { cache, loader, loads, setCurrent } = setup();
    await cache.read("a", loader(profile("a", "Ann")));
    setCurrent(false);
    expect(await cache.read("a", loader(profile("a", "fresh")))).toMatchObject({ name: "fresh" });
    await cache.read("b", loader(profile("b", "B")));
    expect(cache.size()).toBe(1);
    setCurrent(true);
    cache.clear();
    expect(cache.size()).toBe(0);
    expect(loads()).toBe(3);
  });
});
