import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import type { UserDatabase } from "../store/schema.js";
import { touchLastActive } from "../store/user-store.js";
import { isUserId } from "./profile.js";
import type { ProfileCache } from "./profile-cache.js";
import type { ProfileWriter } from "./profile-writer.js";

export interface ActivityTrackerDeps {
  db: Kysely<UserDatabase>;
  clock: Clock;
  writer: ProfileWriter;
  /** At most one last_active_at write per user in this interval (the contract says a minute). */
  minIntervalMs?: number;
  /** Users remembered by the in-memory throttle before old entries are dropped. */
  maxTracked?: number;
  /** Told when last_active_at was written (no event announces it). */
  cache?: ProfileCache;
}

export type ActivityTracker = ReturnType<typeof createActivityTracker>;

/**
 * Keeps last_active_at current without a write per request. Two throttles: in memory, this instance
 * skips users it wrote less than a minute ago (no query at all); in the database, the UPDATE only
 * writes when the stored time is more than a minute old, which holds across instances. Activity is
 * tracking, not a profile change: no version bump, no event. A DORMANT user seen active wakes up.
 */
export function createActivityTracker(deps: ActivityTrackerDeps) {
  const minIntervalMs = deps.minIntervalMs ?? 60_000;
  const maxTracked = deps.maxTracked ?? 100_000;
  const lastWritten = new Map<string, number>();

  function remember(userId: string, at: number): void {
    if (lastWritten.size >= maxTracked) {
      for (const [id, time] of lastWritten) if (at - time >= minIntervalMs) lastWritten.delete(id);
      if (lastWritten.size >= maxTracked) lastWritten.clear();
    }
    lastWritten.set(userId, at);
  }

  /**
   * Records that the user was active at `at` (now by default: an event's time for consumers).
   * Undefined when there is nothing to write (the in-memory throttle, nearly every call): no promise
   * is made for that case, as every authenticated call of the user service comes through here.
   */
  function touch(userId: string, at: Date = deps.clock.now()): Promise<void> | undefined {
    if (!isUserId(userId)) return undefined;
    const last = lastWritten.get(userId);
    if (last !== undefined && at.getTime() - last < minIntervalMs) return undefined;
    remember(userId, Math.max(at.getTime(), last ?? 0));
    return write(userId, at);
  }

  async function write(userId: string, at: Date): Promise<void> {
    const state = await touchLastActive(deps.db, userId, at, minIntervalMs);
    if (state !== undefined) deps.cache?.invalidate(userId);
    if (state === "dormant") await deps.writer.load(userId, { wakeDormant: true });
  }

  return { touch };
}
