import type { Clock } from "../../shared/clock.js";
import type { UserProfile } from "./profile.js";

export interface ProfileCacheOptions {
  clock: Clock;
  /** Profiles held (least recently used goes first). */
  maxEntries: number;
  /** Longest an entry is served, whatever happens: bounds what no event announces (last_active_at). */
  ttlMs: number;
  /**
   * Whether every change made through another instance reaches `invalidate` (the user event feed is
   * caught up). While false the cache is neither read nor filled.
   */
  isCurrent: () => boolean;
}

export type ProfileCache = ReturnType<typeof createProfileCache>;

/**
 * Profiles as last read from the database, for the caller's own reads (GetMe): a client asks for
 * its profile on most screens, and the read is most of the call's cost.
 *
 * An entry is dropped when this instance changes the profile (after the commit), when the user
 * event of a change made through any instance arrives, after `ttlMs`, and all of them when the
 * feed is interrupted. A read that was in flight while any profile was invalidated is not cached
 * (it may have read the old row), so an entry never outlives the change that made it stale by more
 * than the event's way through the outbox and NATS.
 */
export function createProfileCache(options: ProfileCacheOptions) {
  const entries = new Map<string, { profile: UserProfile; loadedAt: number }>();
  /** Bumped by every invalidation: a read that saw it change in flight is not cached. */
  let generation = 0;

  function invalidate(userId: string): void {
    generation++;
    entries.delete(userId);
  }

  function clear(): void {
    generation++;
    entries.clear();
  }

  /** The cached profile if there is one to serve now, without a promise (the common GetMe); else undefined. */
  function peek(userId: string, now: number): UserProfile | undefined {
    if (!options.isCurrent()) return undefined;
    const entry = entries.get(userId);
    if (!entry || now - entry.loadedAt >= options.ttlMs) return undefined;
    // Least recently used goes first: a hit moves the entry to the end.
    entries.delete(userId);
    entries.set(userId, entry);
    return entry.profile;
  }

  /** The cached profile, or `load()`'s answer (cached when it is a profile and nothing moved meanwhile). */
  async function read(userId: string, load: () => Promise<UserProfile | undefined>): Promise<UserProfile | undefined> {
    if (!options.isCurrent()) return load();
    const now = options.clock.now().getTime();
    const cached = peek(userId, now);
    if (cached) return cached;
    const startedAt = generation;
    const profile = await load();
    if (profile && startedAt === generation && options.isCurrent()) {
      entries.delete(userId);
      entries.set(userId, { profile, loadedAt: now });
      if (entries.size > options.maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    }
    return profile;
  }

  return { peek, read, invalidate, clear, size: () => entries.size };
}
