import { FailedPreconditionError } from "../../shared/errors/domain-errors.js";
import { standingOf } from "./account-standing.js";
import { activeCompletionThreshold, profileCompletionPercent } from "./completion.js";
import type { LifecycleState, UserProfile, UserStatus } from "./profile.js";

// The lifecycle state machine documented on LifecycleState in user.proto. Every function here is
// pure: it takes a record and returns the next one (or refuses), and the callers write it. What
// each state allows is account-standing.ts's.

/** SUSPENDED, BANNED and DELETED are standings of their own; every other state is ACTIVE. */
export function statusOf(state: LifecycleState): UserStatus {
  return standingOf(state).status;
}

const terminal = new Set<LifecycleState>(["banned", "deleted"]);

/** Where a user goes when it becomes active again (after dormancy or a suspension). */
function activeStateFor(user: UserProfile): LifecycleState {
  return user.isCreator ? "creator" : "active";
}

/** A move; its reason is that of UpdateLifecycleState's moves alone (moveByAdmin sets it). */
function moveTo(user: UserProfile, state: LifecycleState): UserProfile {
  return { ...user, lifecycleState: state, status: statusOf(state), lifecycleReason: null };
}

function withoutSuspension(user: UserProfile): UserProfile {
  return { ...user, suspendedAt: null, suspendedUntil: null, suspensionReason: null };
}

/** Recomputes completion after a profile change and makes the automatic onboarding moves. */
export function afterProfileChange(user: UserProfile): UserProfile {
  const next = { ...user, profileCompletionPercent: profileCompletionPercent(user) };
  if (next.lifecycleState !== "registered" && next.lifecycleState !== "onboarding") return next;
  if (next.profileCompletionPercent >= activeCompletionThreshold) return moveTo(next, "active");
  return next.lifecycleState === "registered" ? moveTo(next, "onboarding") : next;
}

/** The state a new profile starts in. */
export function initialState(completionPercent: number): LifecycleState {
  return completionPercent >= activeCompletionThreshold ? "active" : "registered";
}

/** A suspension whose end time has passed ends by itself, as UnsuspendUser would end it. */
export function suspensionExpired(user: UserProfile, now: Date): boolean {
  return user.lifecycleState === "suspended" && user.suspendedUntil !== null && user.suspendedUntil <= now;
}

/** A request from a DORMANT user brings it back. */
export function wake(user: UserProfile): UserProfile {
  return user.lifecycleState === "dormant" ? moveTo(user, activeStateFor(user)) : user;
}

const byOwnRpc: Partial<Record<LifecycleState, string>> = {
  creator: "PromoteToCreator",
  suspended: "SuspendUser",
  banned: "BanUser",
};

/** Moves UpdateLifecycleState may make, by current state (see user.proto). */
const adminMoves: Record<LifecycleState, LifecycleState[]> = {
  registered: ["onboarding", "active", "deleted"],
  onboarding: ["active", "deleted"],
  active: ["dormant", "deleted"],
  creator: ["dormant", "deleted"],
  dormant: ["active", "deleted"],
  suspended: ["deleted"],
  banned: [],
  deleted: [],
};

/**
 * UpdateLifecycleState: the record in `target` with the administrator's reason (empty: none), the
 * same record when it is there already, or FAILED_PRECONDITION for a move the state machine does
 * not allow.
 */
export function moveByAdmin(user: UserProfile, target: LifecycleState, now: Date, reason = ""): UserProfile {
  const from = user.lifecycleState;
  if (from === target) return user;
  const refuse = (why: string) =>
    new FailedPreconditionError(
      `cannot move a ${from.toUpperCase()} user to ${target.toUpperCase()}: ${why}`,
      "LIFECYCLE_TRANSITION_NOT_ALLOWED",
    );
  if (terminal.has(from)) throw refuse(`${from.toUpperCase()} is final`);
  const ownRpc = byOwnRpc[target];
  if (ownRpc) throw refuse(`use ${ownRpc}`);
  if (from === "suspended" && target !== "deleted") throw refuse("use UnsuspendUser");
  if (!adminMoves[from].includes(target)) throw refuse("not an allowed transition");
  if (from === "dormant" && target === "active" && user.isCreator)
    throw refuse("a creator leaves DORMANT for CREATOR: use PromoteToCreator");
  const lifecycleReason = reason || null;
  if (target === "deleted") return { ...moveTo(withoutSuspension(user), "deleted"), deletedAt: now, lifecycleReason };
  return { ...moveTo(user, target), lifecycleReason };
}

/** PromoteToCreator: ACTIVE or DORMANT become CREATOR; a CREATOR stays; anything else is refused. */
export function promoteToCreator(user: UserProfile): UserProfile {
  if (user.lifecycleState === "creator") return { ...user, isCreator: true };
  if (user.lifecycleState !== "active" && user.lifecycleState !== "dormant") {
    throw new FailedPreconditionError(
      `only an ACTIVE or DORMANT user can be promoted; this one is ${user.lifecycleState.toUpperCase()}`,
      "LIFECYCLE_TRANSITION_NOT_ALLOWED",
    );
  }
  return moveTo({ ...user, isCreator: true }, "creator");
}

/** SuspendUser: allowed from every state but BANNED and DELETED; a new suspension keeps its start. */
export function suspend(user: UserProfile, reason: string, until: Date | null, now: Date): UserProfile {
  if (terminal.has(user.lifecycleState)) {
    throw new FailedPreconditionError(
      `a ${user.lifecycleState.toUpperCase()} user cannot be suspended`,
      "LIFECYCLE_TRANSITION_NOT_ALLOWED",
    );
  }
  return {
    ...moveTo(user, "suspended"),
    suspendedAt: user.lifecycleState === "suspended" ? (user.suspendedAt ?? now) : now,
    suspendedUntil: until,
    suspensionReason: reason,
  };
}

/** UnsuspendUser (or the end time passing): back to CREATOR or ACTIVE; a user not suspended stays. */
export function unsuspend(user: UserProfile): UserProfile {
  if (terminal.has(user.lifecycleState)) {
    throw new FailedPreconditionError(
      `a ${user.lifecycleState.toUpperCase()} user cannot be unsuspended`,
      "LIFECYCLE_TRANSITION_NOT_ALLOWED",
    );
  }
  if (user.lifecycleState !== "suspended") return user;
  return moveTo(withoutSuspension(user), activeStateFor(user));
}

/** BanUser: final; a banned user stays banned; a deleted one cannot be banned. */
export function ban(user: UserProfile, reason: string, now: Date): UserProfile {
  if (user.lifecycleState === "banned") return user;
  if (user.lifecycleState === "deleted") {
    throw new FailedPreconditionError("a DELETED user cannot be banned", "LIFECYCLE_TRANSITION_NOT_ALLOWED");
  }
  return { ...moveTo(withoutSuspension(user), "banned"), bannedAt: now, banReason: reason };
}
