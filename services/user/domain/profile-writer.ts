import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { UnavailableError, type DomainError } from "../../shared/errors/domain-errors.js";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { insertOutboxRows } from "../../shared/outbox/outbox-store.js";
import { onCommit, type Transact } from "../../shared/outbox/transact.js";
import {
  profileUpdatedEvent,
  userBannedEvent,
  userDeletedEvent,
  userKycUpdatedEvent,
  userSuspendedEvent,
  userUnsuspendedEvent,
} from "../events/user-events.js";
import type { UserDatabase } from "../store/schema.js";
import { findUserById, updateUserIfVersion } from "../store/user-store.js";
import { suspensionExpired, unsuspend, wake } from "./lifecycle.js";
import type { ProfileCache } from "./profile-cache.js";
import { changedFields, isUserId, type UserProfile } from "./profile.js";

/** A moderation event that goes out besides user.profile.updated. */
export type Announcement = "suspended" | "unsuspended" | "banned" | "deleted" | "kyc_updated";

/** Each announcement's event, from the record written and the record it was written over. */
const announcementEvents: Record<
  Announcement,
  (now: Date, user: UserProfile, actorUserId: string, before: UserProfile) => OutboxRow
> = {
  suspended: userSuspendedEvent,
  unsuspended: userUnsuspendedEvent,
  banned: userBannedEvent,
  deleted: userDeletedEvent,
  kyc_updated: userKycUpdatedEvent,
};

/** What a change decided: the next record, and an announcement if any. */
export interface Decision {
  next: UserProfile;
  announce?: Announcement;
}

/** Returns undefined to change nothing. May throw a DomainError to refuse. */
export type Decide = (current: UserProfile, now: Date) => Decision | undefined;

export interface ChangeOptions {
  /** Who asks: the user, an admin, or "" for the system. */
  actorUserId: string;
  notFound: () => DomainError;
  /** Whether this request comes from the user themself (a DORMANT user then wakes up). */
  wakeDormant?: boolean;
}

export interface ProfileWriterDeps {
  db: Kysely<UserDatabase>;
  transact: Transact<UserDatabase>;
  clock: Clock;
  /** Told of every committed change, so that no read is served from before it. */
  cache?: ProfileCache;
}

/** Another write changed the record between our read and our write. */
class VersionConflict extends Error {}

/** Enough for a burst of concurrent writers on one profile; each retry waits a little longer. */
const maxAttempts = 20;

export type ProfileWriter = ReturnType<typeof createProfileWriter>;

/**
 * Every change of a profile goes through here: read, decide, then write with compare-and-set on
 * `version` (optimistic concurrency: no lock is held while deciding), retried when another write
 * got in between. A write bumps the version and records user.profile.updated with the fields that
 * really changed, in the same transaction; a decision that changes nothing writes nothing.
 *
 * Before deciding, the automatic moves that are due are made as writes of their own by the system:
 * a suspension whose end time has passed ends, and a DORMANT user making a request wakes up.
 */
export function createProfileWriter(deps: ProfileWriterDeps) {
  const { clock } = deps;

  /** Writes a decision over `current` inside `trx`. Throws VersionConflict when `current` is stale. */
  async function write(
    trx: Kysely<UserDatabase>,
    current: UserProfile,
    decision: Decision,
    actorUserId: string,
    now: Date,
  ): Promise<UserProfile> {
    const changed = changedFields(current, decision.next);
    if (changed.length === 0 && !decision.announce) return current;
    let written = current;
    if (changed.length > 0) {
      written = { ...decision.next, version: current.version + 1, updatedAt: now };
      if (!(await updateUserIfVersion(trx, written, current.version))) {
        // What we read (perhaps from the cache) is not the row any more.
        deps.cache?.invalidate(current.id);
        throw new VersionConflict();
      }
      await insertOutboxRows(trx, [profileUpdatedEvent(clock.now(), written, changed, actorUserId)]);
      onCommit(trx, () => deps.cache?.invalidate(written.id));
    }
    if (decision.announce) {
      const announcement = announcementEvents[decision.announce];
      await insertOutboxRows(trx, [announcement(clock.now(), written, actorUserId, current)]);
    }
    return written;
  }

  /** Makes the automatic moves that are due, each as its own committed change. */
  async function settle(current: UserProfile, now: Date, wakeDormant: boolean): Promise<UserProfile> {
    // movesDue names every move below: load()'s cached answer relies on it.
    if (!movesDue(current, now, wakeDormant)) return current;
    let user = current;
    if (suspensionExpired(user, now)) {
      const lifted = user;
      user = await deps.transact((trx) =>
        write(trx, lifted, { next: unsuspend(lifted), announce: "unsuspended" }, "", now),
      );
    }
    if (wakeDormant && user.lifecycleState === "dormant") {
      const dormant = user;
      user = await deps.transact((trx) => write(trx, dormant, { next: wake(dormant) }, "", now));
    }
    return user;
  }

  async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    for (let count = 1; ; count++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof VersionConflict)) throw error;
        if (count >= maxAttempts) {
          throw new UnavailableError("the profile is being changed by other requests; retry", "PROFILE_CONTENDED");
        }
        // Jitter, so writers that collided do not collide again in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 * count, 20)));
      }
    }
  }

  /** Read, settle, decide, write; retried on a concurrent write. Returns the record as it now is. */
  function change(userId: string, decide: Decide, options: ChangeOptions): Promise<UserProfile> {
    return withRetries(async () => {
      const current = isUserId(userId) ? await findUserById(deps.db, userId) : undefined;
      if (!current) throw options.notFound();
      const now = clock.now();
      const settled = await settle(current, now, options.wakeDormant ?? false);
      const decision = decide(settled, now);
      if (!decision) return settled;
      return deps.transact((trx) => write(trx, settled, decision, options.actorUserId, now));
    });
  }

  /**
   * A read that first makes the automatic moves that are due. Undefined when there is no profile.
   * `cached`: the record may come from the profile cache (the caller's own reads).
   */
  function load(
    userId: string,
    options: { wakeDormant?: boolean; cached?: boolean } = {},
  ): Promise<UserProfile | undefined> {
    const wakeDormant = options.wakeDormant ?? false;
    if (options.cached && deps.cache) {
      // A cached profile with no automatic move due is the answer as it stands: no retry loop, no
      // read (the cache keeps only well-formed ids).
      const now = clock.now();
      const cached = deps.cache.peek(userId, now.getTime());
      if (cached && !movesDue(cached, now, wakeDormant)) return Promise.resolve(cached);
    }
    return withRetries(async () => {
      if (!isUserId(userId)) return undefined;
      const read = () => findUserById(deps.db, userId);
      const current = options.cached && deps.cache ? await deps.cache.read(userId, read) : await read();
      return current && settle(current, clock.now(), wakeDormant);
    });
  }

  /**
   * For writers that hold their own transaction (the event consumers): write inside it, retrying
   * the whole transaction when the record moved underneath.
   */
  function inTransaction<T>(work: (trx: Kysely<UserDatabase>, writeIn: typeof write) => Promise<T>): Promise<T> {
    return withRetries(() => deps.transact((trx) => work(trx, write)));
  }

  return { change, load, inTransaction };
}

/** Whether settle() has an automatic move to make: a suspension that has ended, or a dormant user waking. */
function movesDue(user: UserProfile, now: Date, wakeDormant: boolean): boolean {
  return suspensionExpired(user, now) || (wakeDormant && user.lifecycleState === "dormant");
}
