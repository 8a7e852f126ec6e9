import { describe, expect, it } from "vitest";
import { FailedPreconditionError } from "../../../services/shared/errors/domain-errors.js";
import {
  afterProfileChange,
  ban,
  initialState,
  moveByAdmin,
  promoteToCreator,
  statusOf,
  suspend,
  suspensionExpired,
  unsuspend,
  wake,
} from "../../../services/user/domain/lifecycle.js";
import { type LifecycleState, lifecycleStates } from "../../../services/user/domain/profile.js";
import { aUser, completeProfile } from "../support/user-profile.js";

// The LifecycleState machine as user.proto documents it. Every function is pure: a record in, the
// next record (or a refusal) out.

const now = new Date("2026-03-01T12:00:00Z");
const inState = (lifecycleState: LifecycleState, isCreator = lifecycleState === "creator") =>
  aUser({ lifecycleState, status: statusOf(lifecycleState), isCreator });

/** UpdateLifecycleState's moves, copied from the LifecycleState comment in user.proto. */
const movesByUpdateLifecycleState: Record<LifecycleState, LifecycleState[]> = {
  registered: ["onboarding", "active", "deleted"],
  onboarding: ["active", "deleted"],
  active: ["dormant", "deleted"],
  creator: ["dormant", "deleted"],
  dormant: ["active", "deleted"],
  suspended: ["deleted"],
  banned: [],
  deleted: [],
};

/** Rows for it.each: each state with its name as user.proto spells it, for the test's title. */
function named<S extends LifecycleState>(...states: S[]): [string, S][] {
  return states.map((state) => [state.toUpperCase(), state]);
}

function refusalOf(action: () => unknown): FailedPreconditionError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(FailedPreconditionError);
    return error as FailedPreconditionError;
  }
  throw new Error("expected a FAILED_PRECONDITION refusal");
}

describe("status", () => {
  it.each(named("suspended", "banned", "deleted"))("%s is a status of its own", (_, state) => {
    expect(statusOf(state)).toBe(state);
  });

  it.each(named("registered", "onboarding", "active", "creator", "dormant"))("%s counts as ACTIVE", (_, state) => {
    expect(statusOf(state)).toBe("active");
  });
});

describe("creating and completing a profile", () => {
  it("starts a new profile in REGISTERED below 60% complete and in ACTIVE from 60%", () => {
    expect(initialState(50)).toBe("registered");
    expect(initialState(60)).toBe("active");
    expect(initialState(100)).toBe("active");
  });

  it("moves a REGISTERED user to ONBOARDING on a change that leaves the profile below 60%", () => {
    const next = afterProfileChange(inState("registered"));
    expect(next.lifecycleState).toBe("onboarding");
    expect(next.profileCompletionPercent).toBe(20);
  });

  it("keeps an ONBOARDING user onboarding while the profile stays below 60%", () => {
    expect(afterProfileChange(inState("onboarding")).lifecycleState).toBe("onboarding");
  });

  it.each(named("registered", "onboarding"))(
    "moves %s to ACTIVE once the profile is 60 percent complete",
    (_, state) => {
      const sixtyPercent = {
        name: "Ada",
        avatarUrl: "https://example.com/a.png",
        bio: "hi",
        gender: "female" as const,
      };
      const next = afterProfileChange({ ...inState(state), ...sixtyPercent, ageBracket: "25_34" });
      expect(next.profileCompletionPercent).toBe(60);
      expect(next).toMatchObject({ lifecycleState: "active", status: "active" });
    },
  );

  it.each(named("active", "creator", "dormant", "suspended"))(
    "only recomputes completion in %s: no automatic move",
    (_, state) => {
      const next = afterProfileChange({ ...inState(state), ...completeProfile });
      expect(next.lifecycleState).toBe(state);
      expect(next.profileCompletionPercent).toBe(100);
    },
  );
});

describe("UpdateLifecycleState", () => {
  const everyMove = lifecycleStates.flatMap((from) =>
    lifecycleStates.filter((to) => to !== from).map((to) => [from.toUpperCase(), to.toUpperCase(), from, to] as const),
  );

  it.each(everyMove.filter(([, , from, to]) => movesByUpdateLifecycleState[from].includes(to)))(
    "moves a user from %s to %s",
    (_from, _to, from, to) => {
      const next = moveByAdmin(inState(from, false), to, now);
      expect(next.lifecycleState).toBe(to);
      expect(next.status).toBe(statusOf(to));
    },
  );

  it.each(everyMove.filter(([, , from, to]) => !movesByUpdateLifecycleState[from].includes(to)))(
    "refuses a move from %s to %s with LIFECYCLE_TRANSITION_NOT_ALLOWED",
    (_from, _to, from, to) => {
      expect(refusalOf(() => moveByAdmin(inState(from), to, now)).reason).toBe("LIFECYCLE_TRANSITION_NOT_ALLOWED");
    },
  );

  it.each(named(...lifecycleStates))("answers the same record for a move from %s to where it is", (_, state) => {
    const user = inState(state);
    expect(moveByAdmin(user, state, now)).toBe(user);
  });

  it.each([
    ["creator", "PromoteToCreator"],
    ["suspended", "SuspendUser"],
    ["banned", "BanUser"],
  ] as const)("points to the RPC of its own for a move to %s", (target, rpc) => {
    expect(refusalOf(() => moveByAdmin(inState("active"), target, now)).message).toContain(`use ${rpc}`);
  });

  it("points a SUSPENDED user's way back to UnsuspendUser", () => {
    expect(refusalOf(() => moveByAdmin(inState("suspended"), "active", now)).message).toContain("use UnsuspendUser");
  });

  it("says BANNED and DELETED are final", () => {
    expect(refusalOf(() => moveByAdmin(inState("banned"), "deleted", now)).message).toContain("BANNED is final");
    expect(refusalOf(() => moveByAdmin(inState("deleted"), "active", now)).message).toContain("DELETED is final");
  });

  it("refuses DORMANT to ACTIVE for a creator, who goes back through PromoteToCreator", () => {
    const dormantCreator = inState("dormant", true);
    expect(refusalOf(() => moveByAdmin(dormantCreator, "active", now)).message).toContain("use PromoteToCreator");
  });

  it("keeps the administrator's reason with the move, and forgets it at the next move made otherwise", () => {
    const dormant = moveByAdmin(inState("active"), "dormant", now, "inactive for a year");
    expect(dormant.lifecycleReason).toBe("inactive for a year");
    expect(wake(dormant).lifecycleReason).toBeNull();
    expect(moveByAdmin(inState("active"), "dormant", now).lifecycleReason).toBeNull();
    expect(moveByAdmin(dormant, "dormant", now, "another reason")).toBe(dormant);
    expect(moveByAdmin(inState("active"), "deleted", now, "asked to be forgotten").lifecycleReason).toBe(
      "asked to be forgotten",
    );
  });

  it("stamps deleted_at with the time of the move and clears a suspension when deleting", () => {
    const suspended = suspend(inState("active"), "spam", new Date("2026-04-01T00:00:00Z"), now);
    const deleted = moveByAdmin(suspended, "deleted", now);
    expect(deleted).toMatchObject({
      lifecycleState: "deleted",
      status: "deleted",
      deletedAt: now,
      suspendedAt: null,
      suspendedUntil: null,
      suspensionReason: null,
    });
  });
});

describe("PromoteToCreator", () => {
  it.each(named("active", "dormant"))("promotes a user from %s to CREATOR", (_, state) => {
    expect(promoteToCreator(inState(state))).toMatchObject({ lifecycleState: "creator", isCreator: true });
  });

  it("leaves a CREATOR a creator", () => {
    expect(promoteToCreator(inState("creator"))).toMatchObject({ lifecycleState: "creator", isCreator: true });
  });

  it.each(named("registered", "onboarding", "suspended", "banned", "deleted"))("refuses a user in %s", (_, state) => {
    expect(refusalOf(() => promoteToCreator(inState(state))).reason).toBe("LIFECYCLE_TRANSITION_NOT_ALLOWED");
  });
});

describe("SuspendUser and UnsuspendUser", () => {
  const until = new Date("2026-03-08T12:00:00Z");

  it.each(named("registered", "onboarding", "active", "creator", "dormant"))(
    "suspends a user in %s, recording the reason, the end time and the start",
    (_, state) => {
      expect(suspend(inState(state), "spam", until, now)).toMatchObject({
        lifecycleState: "suspended",
        status: "suspended",
        suspendedAt: now,
        suspendedUntil: until,
        suspensionReason: "spam",
      });
    },
  );

  it("keeps the start of a suspension that is suspended again, with the new end and reason", () => {
    const first = suspend(inState("active"), "spam", until, now);
    const later = new Date("2026-03-02T12:00:00Z");
    expect(suspend(first, "abuse", null, later)).toMatchObject({
      suspendedAt: now,
      suspendedUntil: null,
      suspensionReason: "abuse",
    });
  });

  it.each(named("banned", "deleted"))("refuses to suspend or unsuspend a user in %s", (_, state) => {
    expect(refusalOf(() => suspend(inState(state), "spam", until, now)).reason).toBe(
      "LIFECYCLE_TRANSITION_NOT_ALLOWED",
    );
    expect(refusalOf(() => unsuspend(inState(state))).reason).toBe("LIFECYCLE_TRANSITION_NOT_ALLOWED");
  });

  it("brings a suspended user back to ACTIVE, or to CREATOR when it is a creator, with no trace of the suspension", () => {
    const cleared = { suspendedAt: null, suspendedUntil: null, suspensionReason: null };
    expect(unsuspend(suspend(inState("active"), "spam", until, now))).toMatchObject({
      lifecycleState: "active",
      status: "active",
      ...cleared,
    });
    expect(unsuspend(suspend(inState("creator"), "spam", until, now))).toMatchObject({
      lifecycleState: "creator",
      status: "active",
      ...cleared,
    });
  });

  it("leaves a user that is not suspended as it is", () => {
    const user = inState("dormant");
    expect(unsuspend(user)).toBe(user);
  });

  it("ends a suspension by itself once its end time has come, and never one without an end", () => {
    const suspended = suspend(inState("active"), "spam", until, now);
    expect(suspensionExpired(suspended, new Date(until.getTime() - 1))).toBe(false);
    expect(suspensionExpired(suspended, until)).toBe(true);
    expect(suspensionExpired(suspend(inState("active"), "spam", null, now), new Date("2099-01-01"))).toBe(false);
    expect(suspensionExpired(inState("active"), until)).toBe(false);
  });
});

describe("BanUser", () => {
  it.each(named("registered", "onboarding", "active", "creator", "dormant", "suspended"))(
    "bans a user in %s for good, recording the reason and the time",
    (_, state) => {
      expect(ban(inState(state), "fraud", now)).toMatchObject({
        lifecycleState: "banned",
        status: "banned",
        bannedAt: now,
        banReason: "fraud",
        suspendedUntil: null,
      });
    },
  );

  it("leaves a banned user banned, with the first ban's reason", () => {
    const banned = ban(inState("active"), "fraud", now);
    expect(ban(banned, "again", new Date("2026-05-01T00:00:00Z"))).toBe(banned);
  });

  it("refuses to ban a deleted user", () => {
    expect(refusalOf(() => ban(inState("deleted"), "fraud", now)).reason).toBe("LIFECYCLE_TRANSITION_NOT_ALLOWED");
  });
});

describe("a DORMANT user seen again", () => {
  it("wakes up ACTIVE, or CREATOR when it is a creator", () => {
    expect(wake(inState("dormant"))).toMatchObject({ lifecycleState: "active", status: "active" });
    expect(wake(inState("dormant", true))).toMatchObject({ lifecycleState: "creator" });
  });

  it.each(named("active", "suspended", "banned"))("leaves a user in %s as it is", (_, state) => {
    const user = inState(state);
    expect(wake(user)).toBe(user);
  });
});
