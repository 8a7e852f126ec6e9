import type { Kysely } from "kysely";
import type { RevocationList } from "../../shared/auth/revocation-list.js";
import type { Clock } from "../../shared/clock.js";
import type { Logger } from "../../shared/logging.js";
import type { AuthDatabase } from "../store/schema.js";
import { isSessionActive } from "../store/session-store.js";
import type { RevokedSession } from "./session-revocation.js";

export type RevocationAwareness = ReturnType<typeof createRevocationAwareness>;

export interface RevocationAwarenessDeps {
  db: Kysely<AuthDatabase>;
  /** The auth service's clock, for the database check (session expiry). */
  clock: Clock;
  logger: Logger;
  /**
   * The revocations this instance follows on auth.session.revoked; undefined without NATS, or when
   * a session can end before its access tokens do (see build-domain.ts): then every check reads
   * the database.
   */
  feed: Pick<RevocationList, "isRevoked" | "isCurrent" | "markRevoked" | "seenOnFeed"> | undefined;
  /** Whether the link to NATS is up now (the feed learns nothing while it is down). */
  feedConnected: () => boolean;
  /** How long a revoking RPC waits for its revocation to come back through the stream. */
  propagationWaitMs: number;
}

/**
 * How the auth service knows that a token's session is still active, for the authentication
 * interceptor and ValidateToken, without a database round trip per call:
 * - every revocation is an auth.session.revoked event, and this instance follows them all (the
 *   same in-memory list the user service uses), so "not in the list" means "active" while the
 *   feed is caught up and connected; otherwise (starting, NATS down, no NATS) the database answers;
 * - its own revocations are in its list as soon as they commit (`afterRevoked`), and the RPC that
 *   revoked waits, up to `propagationWaitMs`, until the event has come back through the stream:
 *   then every other instance (auth or user) following it has been sent it too, so a caller that
 *   was told "logged out" is refused by the next instance it reaches.
 * A session also ends without an event when its refresh lifetime or its maximum age runs out, but
 * its access tokens expire no later (the refresh lifetime is the longer one, and no token is issued
 * past the maximum age: session-lifetime.ts), so the verifier refuses them anyway.
 */
export function createRevocationAwareness(deps: RevocationAwarenessDeps) {
  const { feed } = deps;

  function fromDatabase(sessionId: string): Promise<boolean> {
    return isSessionActive(deps.db, sessionId, deps.clock.now()).then((active) => !active);
  }

  /** Whether the token's session was revoked or has ended. */
  function isSessionRevoked(sessionId: string): boolean | Promise<boolean> {
    if (feed?.isCurrent() && deps.feedConnected()) return feed.isRevoked(sessionId);
    return fromDatabase(sessionId);
  }

  /** After a revocation committed: known here at once, and (bounded) sent to every follower. */
  async function afterRevoked(revoked: readonly RevokedSession[]): Promise<void> {
    if (!feed) return;
    for (const session of revoked) feed.markRevoked(session.sessionId, session.accessExpiresAt);
    if (!deps.feedConnected()) return;
    const ids = revoked.map((session) => session.sessionId);
    if (!(await feed.seenOnFeed(ids, deps.propagationWaitMs))) {
      deps.logger.warn(
        { sessionIds: ids, waitedMs: deps.propagationWaitMs },
        "revocation not yet back from the event stream; other instances learn it when the relay publishes it",
      );
    }
  }

  return { isSessionRevoked, afterRevoked };
}
