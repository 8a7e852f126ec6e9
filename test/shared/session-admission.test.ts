import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Principal } from "../../services/shared/auth/principal.js";
import { createSessionAdmission, type SessionAdmissionOptions } from "../../services/shared/auth/session-admission.js";
import {
  type DomainError,
  PermissionDeniedError,
  UnavailableError,
} from "../../services/shared/errors/domain-errors.js";

// The rules of session-admission.ts without servers: when the revocation list alone answers, when
// the auth service is asked and how its answers are kept, and that nothing unchecked gets through.
// Date.now is faked: the one-second answers and the settling window are time rules.

const principal = (sessionId: string, userId = `user-${sessionId}`): Principal => ({
  userId,
  sessionId,
  deviceId: "device",
  tokenId: `jti-${sessionId}`,
  roles: ["user"],
  phone: undefined,
  email: undefined,
  expiresAt: new Date(Date.now() + 15 * 60_000),
  authTime: undefined,
  amr: [],
  token: `token-of-${sessionId}`,
});

function fakeFeed() {
  const revoked = new Set<string>();
  const feed = {
    current: true,
    currentSinceMs: Date.now() as number | undefined,
    connected: true,
    isRevoked: (sessionId: string) => revoked.has(sessionId),
    isCurrent: () => feed.current,
    currentSince: () => (feed.current ? feed.currentSinceMs : undefined),
    markRevoked: (sessionId: string) => void revoked.add(sessionId),
    revoked,
  };
  return feed;
}

function admissionWith(overrides: Partial<SessionAdmissionOptions> = {}) {
  const feed = fakeFeed();
  const questions: string[] = [];
  const authAnswers = new Map<string, boolean | Error>();
  const admission = createSessionAdmission({
    feed,
    feedConnected: () => feed.connected,
    askAuthService: async (token) => {
      questions.push(token);
      const answer = authAnswers.get(token) ?? true;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    ...overrides,
  });
  const refusalOf = (who: Principal) =>
    admission.admit(who).then(
      () => undefined,
      (error: DomainError) => error,
    );
  return { feed, questions, authAnswers, admission, refusalOf };
}

describe("session admission", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-12-01T12:00:00Z") });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("lets the revocation list answer alone while the feed is current and connected", async () => {
    const { feed, questions, refusalOf } = admissionWith();
    expect(await refusalOf(principal("a"))).toBeUndefined();
    feed.revoked.add("b");
    expect((await refusalOf(principal("b")))?.reason).toBe("SESSION_REVOKED");
    expect(questions).toEqual([]);
  });

  it("asks the auth service once per session per second while the feed is not current, one question for concurrent calls", async () => {
    const { feed, questions, refusalOf } = admissionWith();
    feed.connected = false;
    await Promise.all([refusalOf(principal("a")), refusalOf(principal("a")), refusalOf(principal("a"))]);
    expect(questions).toEqual(["token-of-a"]);
    vi.advanceTimersByTime(999);
    await refusalOf(principal("a"));
    expect(questions).toHaveLength(1);
    vi.advanceTimersByTime(1);
    await refusalOf(principal("a"));
    expect(questions).toHaveLength(2);
  });

  it("refuses a session the auth service calls revoked, and keeps it in the list for when the feed is back", async () => {
    const { feed, authAnswers, refusalOf } = admissionWith();
    feed.current = false;
    authAnswers.set("token-of-a", false);
    expect((await refusalOf(principal("a")))?.reason).toBe("SESSION_REVOKED");
    feed.current = true;
    expect((await refusalOf(principal("a")))?.reason).toBe("SESSION_REVOKED");
  });

  it("answers UNAVAILABLE when the auth service cannot be asked, and asks again next time", async () => {
    const { feed, questions, authAnswers, refusalOf } = admissionWith();
    feed.current = false;
    authAnswers.set("token-of-a", new UnavailableError("down", "SESSION_CHECK_UNAVAILABLE"));
    expect((await refusalOf(principal("a")))?.reason).toBe("SESSION_CHECK_UNAVAILABLE");
    authAnswers.delete("token-of-a");
    expect(await refusalOf(principal("a"))).toBeUndefined();
    expect(questions).toHaveLength(2);
  });

  it("refuses a user its own database calls suspended, even while the auth service is down", async () => {
    const suspended = new PermissionDeniedError("this account is suspended until further notice", "USER_SUSPENDED");
    const { feed, authAnswers, refusalOf } = admissionWith({
      localRefusal: async (userId) => (userId === "user-a" ? suspended : null),
    });
    feed.current = false;
    authAnswers.set("token-of-a", new UnavailableError("down", "SESSION_CHECK_UNAVAILABLE"));
    expect(await refusalOf(principal("a"))).toBe(suspended);
  });

  it("keeps asking for settleMs after the feed has caught up again after a gap", async () => {
    const { feed, questions, admission, refusalOf } = admissionWith({ settleMs: 10_000 });
    expect(admission.trustsFeed()).toBe(true); // caught up at start: nothing to settle
    vi.advanceTimersByTime(60_000);
    feed.current = false;
    await refusalOf(principal("a"));
    feed.current = true;
    feed.currentSinceMs = Date.now();
    expect(admission.trustsFeed()).toBe(false);
    vi.advanceTimersByTime(9_999);
    expect(admission.trustsFeed()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(admission.trustsFeed()).toBe(true);
    await refusalOf(principal("b"));
    expect(questions).toEqual(["token-of-a"]);
  });

  it("asks the auth service for every session when there is no feed at all (no NATS)", async () => {
    const questions: string[] = [];
    const admission = createSessionAdmission({
      feed: undefined,
      feedConnected: () => false,
      askAuthService: async (token) => {
        questions.push(token);
        return true;
      },
    });
    expect(admission.trustsFeed()).toBe(false);
    await admission.admit(principal("a"));
    expect(questions).toEqual(["token-of-a"]);
  });

  it("keeps answers for at most maxEntries sessions, dropping the least recently asked", async () => {
    const { feed, questions, refusalOf } = admissionWith({ maxEntries: 2 });
    feed.current = false;
    for (const id of ["a", "b", "a", "c"]) await refusalOf(principal(id)); // c pushes out b, not a
    expect(questions).toEqual(["token-of-a", "token-of-b", "token-of-c"]);
    await refusalOf(principal("a"));
    await refusalOf(principal("b"));
    expect(questions).toEqual(["token-of-a", "token-of-b", "token-of-c", "token-of-b"]);
  });
});
