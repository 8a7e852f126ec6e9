import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { InvalidArgumentError, NotFoundError } from "../../shared/errors/domain-errors.js";
import type { Logger } from "../../shared/logging.js";
import type { UserDatabase } from "../store/schema.js";
import { findUserByEmail, findUserByPhone } from "../store/user-store.js";
import { normalizeEmail, normalizePhone } from "../../shared/identifiers.js";
import { recordKyc } from "./kyc.js";
import { ban, moveByAdmin, promoteToCreator, suspend, unsuspend } from "./lifecycle.js";
import type { KycStatus, LifecycleState, UserProfile } from "./profile.js";
import type { Decide, ProfileWriter } from "./profile-writer.js";

export interface ModerationServiceDeps {
  db: Kysely<UserDatabase>;
  clock: Clock;
  writer: ProfileWriter;
  /** Receives one audit line per administrative change, with who, whom, what and why. */
  logger: Logger;
  defaultPhoneRegion?: string;
}

export type ModerationService = ReturnType<typeof createModerationService>;

/**
 * What administrators and trusted services do to users. Role checks happen at the edge (handlers);
 * here `actorUserId` is who to name in the events.
 */
export function createModerationService(deps: ModerationServiceDeps) {
  const { writer } = deps;
  const noSuchUser = () => new NotFoundError("no such user", "USER_NOT_FOUND");

  /**
   * Applies an administrative change and writes the audit line: who did what to whom and why (a
   * lifecycle move's reason is also stored as lifecycle_reason; the log keeps every one).
   */
  async function administer(
    action: string,
    actorUserId: string,
    userId: string,
    reason: string,
    decide: Decide,
  ): Promise<UserProfile> {
    const user = await writer.change(userId, decide, { actorUserId, notFound: noSuchUser });
    deps.logger.info(
      { audit: action, actorUserId, userId, reason, lifecycleState: user.lifecycleState, version: user.version },
      "admin action",
    );
    return user;
  }

  async function settled(user: UserProfile | undefined): Promise<UserProfile> {
    const current = user && (await writer.load(user.id));
    if (!current) throw noSuchUser();
    return current;
  }

  async function getByPhone(phone: string): Promise<UserProfile> {
    return settled(await findUserByPhone(deps.db, normalizePhone(phone, deps.defaultPhoneRegion)));
  }

  async function getByEmail(email: string): Promise<UserProfile> {
    return settled(await findUserByEmail(deps.db, normalizeEmail(email)));
  }

  function moveLifecycle(
    actorUserId: string,
    userId: string,
    target: LifecycleState,
    reason: string,
  ): Promise<UserProfile> {
    return administer(`move to ${target}`, actorUserId, userId, reason, (current, now) => {
      const next = moveByAdmin(current, target, now, reason);
      if (next === current) return undefined;
      // DELETED is the one state this RPC reaches that may not sign in (account-standing.ts): the
      // auth service learns it from user.deleted, as it learns a ban from user.banned.
      return { next, announce: next.lifecycleState === "deleted" ? "deleted" : undefined };
    });
  }

  function promote(actorUserId: string, userId: string): Promise<UserProfile> {
    return administer("promote to creator", actorUserId, userId, "", (current) => ({
      next: promoteToCreator(current),
    }));
  }

  /** Suspends until `until` (null: until lifted). Suspending again replaces reason and end, and announces again. */
  function suspendUser(actorUserId: string, userId: string, reason: string, until: Date | null): Promise<UserProfile> {
    if (until && until <= deps.clock.now()) {
      throw new InvalidArgumentError("suspended_until", "suspended_until: must be in the future");
    }
    return administer("suspend", actorUserId, userId, reason, (current, now) => ({
      next: suspend(current, reason, until, now),
      announce: "suspended",
    }));
  }

  function unsuspendUser(actorUserId: string, userId: string): Promise<UserProfile> {
    return administer("unsuspend", actorUserId, userId, "", (current) => {
      const next = unsuspend(current);
      return next === current ? undefined : { next, announce: "unsuspended" };
    });
  }

  function banUser(actorUserId: string, userId: string, reason: string): Promise<UserProfile> {
    return administer("ban", actorUserId, userId, reason, (current, now) => {
      const next = ban(current, reason, now);
      return next === current ? undefined : { next, announce: "banned" };
    });
  }

  /** A KYC provider's report of the user's verification (kyc.ts); a report that changes nothing is not announced. */
  function updateKyc(
    actorUserId: string,
    userId: string,
    status: KycStatus,
    tier: number,
    reason: string,
  ): Promise<UserProfile> {
    return administer(`kyc ${status} tier ${tier}`, actorUserId, userId, reason, (current) => {
      const next = recordKyc(current, status, tier);
      return next === current ? undefined : { next, announce: "kyc_updated" };
    });
  }

  return { getByPhone, getByEmail, moveLifecycle, promote, suspendUser, unsuspendUser, banUser, updateKyc };
}
