/**
 * The sessions revoked recently, held in memory and fed by `auth.session.revoked`, so that a service
 * verifying access tokens locally refuses a revoked session's tokens within a second instead of at
 * their expiry, with no database or network round trip per request.
 *
 *     const revocations = createRevocationList({ nats: runtime.nats, logger, lookbackMs: 15 * 60_000 });
 *     createAuthenticationInterceptor({ verifier, publicMethods, isSessionRevoked: revocations.isRevoked });
 *     await revocations.close();   // on shutdown
 *
 * Every instance needs every revocation, so this is not a shared durable consumer: each instance
 * reads the stream with its own ordered (ephemeral, in-memory) consumer. It starts `lookbackMs` in
 * the past (the access token lifetime plus leeway), so an instance that just started, or restarted,
 * relearns the revocations whose tokens could still be presented. An entry is forgotten once its
 * `tokens_expire_at` has passed: no token of that session verifies any more anyway.
 *
 * While NATS is unreachable the list keeps what it knew and learns the rest when NATS is back
 * (resuming after the last event it saw). "Not in the list" means "not revoked" only while
 * `isCurrent()`: otherwise a service must check elsewhere, as the auth service does with its
 * sessions table (revocation-awareness.ts) and the user service by asking the auth service
 * (session-admission.ts), or refuse.
 *
 * The auth service also tells the list about its own revocations as soon as they commit
 * (`markRevoked`), so its next call sees them before the event has made the round trip, and can
 * wait (`seenOnFeed`) until the event has come back through the stream, i.e. until every other
 * instance following the stream has been sent it.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DeliverPolicy } from "@nats-io/jetstream";
import { SessionRevokedSchema } from "../../../gen/mintcoin/events/v1/auth_events_pb.js";
import { systemClock, type Clock } from "../clock.js";
import { streams } from "../events/streams.js";
import type { NatsLink } from "../events/nats-link.js";
import { followStream } from "../events/stream-follower.js";
import type { Logger } from "../logging.js";

export interface RevocationListOptions {
  nats: NatsLink;
  logger: Logger;
  /** How far back to read on start: at least the access token lifetime. */
  lookbackMs: number;
  clock?: Clock;
  /** Stream holding auth.session.revoked (default AUTH_EVENTS). */
  stream?: string;
  /** How often expired entries are swept (default 60 s). */
  sweepIntervalMs?: number;
  /**
   * How long an entry outlives its tokens' expiry: the verifier's clock tolerance, during which it
   * still accepts an expired token (default 0).
   */
  retainAfterExpiryMs?: number;
}

export interface RevocationList {
  /** Whether a session's tokens must be refused. Synchronous and O(1): call it on every request. */
  isRevoked(sessionId: string): boolean;
  /**
   * True while the feed is caught up: the look-back window (or the gap since a restart of the
   * consumer) has been read and the consumer is running. False before `ready` and while resuming.
   */
  isCurrent(): boolean;
  /** When (ms since epoch) the feed last caught up; undefined while it is not current. */
  currentSince(): number | undefined;
  /** Records a revocation this process committed itself, before its event comes back from the stream. */
  markRevoked(sessionId: string, tokensExpireAt: Date): void;
  /**
   * Resolves true once the stream has delivered the revocation of every given session to this
   * list (so the stream holds them and every follower has been sent them), false after `timeoutMs`.
   */
  seenOnFeed(sessionIds: readonly string[], timeoutMs: number): Promise<boolean>;
  /** Revocations held now. */
  size(): number;
  /** Resolves once the revocations of the look-back window have been read (the first time). */
  ready: Promise<void>;
  close(): Promise<void>;
}

const subject = "auth.session.revoked";

export function createRevocationList(options: RevocationListOptions): RevocationList {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const stream = options.stream ?? streams.auth.name;
  const retainMs = options.retainAfterExpiryMs ?? 0;
  /** session id -> when its last access token expires (ms since epoch, retention included). */
  const revoked = new Map<string, number>();
  /** Sessions whose revocation the stream has delivered (kept as long as their entry in `revoked`). */
  const fromFeed = new Set<string>();
  /** Waiters for `seenOnFeed`, by session id. */
  const waiters = new Map<string, Set<() => void>>();

  function hold(sessionId: string, expiresAt: number): boolean {
    if (!sessionId || expiresAt <= clock.now().getTime()) return false;
    revoked.set(sessionId, Math.max(expiresAt, revoked.get(sessionId) ?? 0));
    return true;
  }

  function remember(data: Uint8Array): void {
    const event = fromBinary(SessionRevokedSchema, data);
    const occurredAt = event.occurredAt ? timestampDate(event.occurredAt).getTime() : clock.now().getTime();
    const expiresAt = event.tokensExpireAt
      ? timestampDate(event.tokensExpireAt).getTime()
      : occurredAt + options.lookbackMs;
    if (hold(event.sessionId, expiresAt + retainMs)) fromFeed.add(event.sessionId);
    const waiting = waiters.get(event.sessionId);
    if (waiting) {
      waiters.delete(event.sessionId);
      for (const wake of waiting) wake();
    }
  }

  function forget(sessionId: string): void {
    revoked.delete(sessionId);
    fromFeed.delete(sessionId);
  }

  /** Resolves when the feed delivers `sessionId` (at once if it already has), or never. */
  function delivered(sessionId: string, cancels: Array<() => void>): Promise<void> {
    if (fromFeed.has(sessionId)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = waiters.get(sessionId) ?? new Set();
      waiters.set(sessionId, waiting);
      waiting.add(resolve);
      cancels.push(() => {
        waiting.delete(resolve);
        if (waiting.size === 0 && waiters.get(sessionId) === waiting) waiters.delete(sessionId);
      });
    });
  }

  const follower = followStream({
    nats: options.nats,
    logger,
    stream,
    subject,
    name: "revocation feed",
    // From the look-back window: the revocations whose tokens could still be presented.
    startAt: () => ({
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(clock.now().getTime() - options.lookbackMs).toISOString(),
    }),
    onMessage: (message) => remember(message.data),
  });

  function sweep(): void {
    const now = clock.now().getTime();
    for (const [sessionId, expiresAt] of revoked) if (expiresAt <= now) forget(sessionId);
  }

  const sweeper = setInterval(sweep, options.sweepIntervalMs ?? 60_000);
  sweeper.unref();

  return {
    isRevoked(sessionId) {
      const expiresAt = revoked.get(sessionId);
      if (expiresAt === undefined) return false;
      if (expiresAt > clock.now().getTime()) return true;
      forget(sessionId);
      return false;
    },
    isCurrent: () => follower.isCurrent(),
    currentSince: () => follower.currentSince(),
    markRevoked(sessionId, tokensExpireAt) {
      hold(sessionId, tokensExpireAt.getTime() + retainMs);
    },
    async seenOnFeed(sessionIds, timeoutMs) {
      const cancels: Array<() => void> = [];
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      try {
        return await Promise.race([
          Promise.all(sessionIds.map((id) => delivered(id, cancels))).then(() => true),
          timedOut,
        ]);
      } finally {
        clearTimeout(timer);
        for (const cancel of cancels) cancel();
      }
    },
    size: () => revoked.size,
    ready: follower.ready,
    async close() {
      clearInterval(sweeper);
      await follower.close();
    },
  };
}
