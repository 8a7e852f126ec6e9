/**
 * Whether a verified access token may be used, for a service that verifies tokens locally and is
 * not the auth service (the user service). A token's signature says nothing of what happened to its
 * session since it was issued; this fails closed when the service cannot know:
 *
 * - while the revocation feed is trustworthy (current, NATS connected), the revocation list answers,
 *   in memory, with no call (the common case);
 * - otherwise (no NATS, NATS down, the feed catching up, or within `settleMs` of catching up again
 *   after a gap: the auth service's outbox relay needs that long to publish what it committed
 *   meanwhile) the auth service is asked (ValidateToken reads its sessions table), together with the
 *   service's own record of the user (`localRefusal`: a suspension, ban or deletion it committed,
 *   which the auth service learns only through NATS). Answers are kept `ttlMs` (a second), shared by
 *   concurrent requests of one session, for at most `maxEntries` sessions;
 * - if the auth service cannot be asked either, the token is refused with UNAVAILABLE: the client
 *   retries, it is not signed out.
 *
 * A revocation learned from the auth service is added to the list (until its tokens expire), so
 * it holds after the feed comes back even before the feed has delivered it.
 */
import { type DomainError, UnauthenticatedError } from "../errors/domain-errors.js";
import type { Principal } from "./principal.js";
import type { RevocationList } from "./revocation-list.js";

export interface SessionAdmissionOptions {
  /** The list fed by auth.session.revoked; undefined without NATS (then the auth service is always asked). */
  feed: Pick<RevocationList, "isRevoked" | "isCurrent" | "currentSince" | "markRevoked"> | undefined;
  /** Whether the NATS link is up now (the feed hears nothing while it is down, and may not know yet). */
  feedConnected: () => boolean;
  /**
   * Asks the auth service whether the token's session is active (ValidateToken). Throws an
   * UnavailableError when the auth service cannot be reached or does not answer in time.
   */
  askAuthService: (token: string) => Promise<boolean>;
  /** The service's own reason to refuse this user (suspended, banned, deleted), or null. */
  localRefusal?: (userId: string) => Promise<DomainError | null>;
  /** How long an answer of the auth service is used (default 1 s). */
  ttlMs?: number;
  /** Sessions whose answers are kept at once (default 10,000; the least recently asked go first). */
  maxEntries?: number;
  /** How long a feed that caught up again after a gap is still double-checked (default 10 s). */
  settleMs?: number;
  /** Counts each question to the auth service by its outcome, for the metrics. */
  onAsked?: (outcome: "active" | "revoked" | "unavailable") => void;
}

export interface SessionAdmission {
  /** Resolves when the token may be used; rejects with the refusal (UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE). */
  admit(principal: Principal): Promise<void>;
  /** Whether the revocation list alone answers now (no call to the auth service). */
  trustsFeed(): boolean;
}

interface Answer {
  /** When the question was sent (ms): the answer describes the session no earlier than that. */
  askedAt: number;
  refusal: Promise<DomainError | null>;
}

export function createSessionAdmission(options: SessionAdmissionOptions): SessionAdmission {
  const ttlMs = options.ttlMs ?? 1_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const settleMs = options.settleMs ?? 10_000;
  const { feed } = options;
  // A feed that catches up this soon after start read the look-back window in one go: no gap to settle.
  const createdAt = Date.now();
  const answers = new Map<string, Answer>();

  function trustsFeed(): boolean {
    const since = feed?.currentSince();
    if (!feed || since === undefined || !feed.isCurrent() || !options.feedConnected()) return false;
    return since - createdAt < settleMs || Date.now() - since >= settleMs;
  }

  async function ask(principal: Principal): Promise<DomainError | null> {
    const [auth, local] = await Promise.allSettled([
      options.askAuthService(principal.token),
      options.localRefusal?.(principal.userId) ?? Promise.resolve(null),
    ]);
    // The service's own record first: a banned user is refused even while the auth service is down.
    if (local.status === "rejected") throw local.reason;
    if (local.value) return local.value;
    if (auth.status === "rejected") {
      options.onAsked?.("unavailable");
      throw auth.reason;
    }
    options.onAsked?.(auth.value ? "active" : "revoked");
    if (auth.value) return null;
    feed?.markRevoked(principal.sessionId, principal.expiresAt);
    return new UnauthenticatedError("this session has been signed out; sign in again", "SESSION_REVOKED");
  }

  function answerFor(principal: Principal): Promise<DomainError | null> {
    const key = principal.sessionId;
    const now = Date.now();
    const kept = answers.get(key);
    answers.delete(key);
    if (kept && now - kept.askedAt < ttlMs) {
      answers.set(key, kept); // most recently used last
      return kept.refusal;
    }
    while (answers.size >= maxEntries) {
      const oldest = answers.keys().next();
      if (oldest.done) break;
      answers.delete(oldest.value);
    }
    const answer: Answer = { askedAt: now, refusal: ask(principal) };
    answers.set(key, answer);
    // A failure to ask is not an answer: the next request asks again.
    answer.refusal.catch(() => {
      if (answers.get(key) === answer) answers.delete(key);
    });
    return answer.refusal;
  }

  return {
    async admit(principal) {
      if (feed?.isRevoked(principal.sessionId)) {
        throw new UnauthenticatedError("this session has been signed out; sign in again", "SESSION_REVOKED");
      }
      if (trustsFeed()) return;
      const refusal = await answerFor(principal);
      if (refusal) throw refusal;
    },
    trustsFeed,
  };
}
