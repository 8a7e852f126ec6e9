import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { withConnectionTime } from "../../shared/database/connection-time.js";
import { PermissionDeniedError, UnauthenticatedError } from "../../shared/errors/domain-errors.js";
import { guaranteed } from "../../shared/guaranteed.js";
import type { Transact } from "../../shared/outbox/transact.js";
import { sessionRefreshedEvent } from "../events/session-events.js";
import {
  lockRefreshToken,
  peekRefreshToken,
  rotateRefreshTokenIfHead,
  type RefreshState,
} from "../store/refresh-token-store.js";
import type { AuthDatabase } from "../store/schema.js";
import type { AccessTokenIssuer, UserIdentifier } from "./access-tokens.js";
import { networkOf } from "./networks.js";
import { hashOpaqueToken, looksLikeToken, newOpaqueToken } from "./opaque-tokens.js";
import { openTokenPair, sealTokenPair } from "./refresh-grace.js";
import { sessionAuthenticationFrom } from "./session-authentication.js";
import { refreshTokenExpiry, type SessionLifetime } from "./session-lifetime.js";
import type { SessionRevoker } from "./session-revocation.js";
import type { TokenPair } from "./sessions.js";
import { restrictionError } from "./user-restrictions.js";

export interface RefreshInput {
  refreshToken: string;
  deviceId: string;
  ip: string;
  userAgent: string;
}

export interface RefreshServiceDeps {
  /** For the optimistic rotation's two autocommit statements. */
  db: Kysely<AuthDatabase>;
  transact: Transact<AuthDatabase>;
  /** Wakes the outbox relay after a write outside `transact` that recorded events. */
  afterCommit: () => void;
  revoker: SessionRevoker;
  clock: Clock;
  accessTokens: AccessTokenIssuer;
  lifetime: SessionLifetime;
  /** How long after a rotation the old token still gets the same new pair back (a lost response). */
  reuseGraceMs: number;
}

type Outcome = { kind: "tokens"; tokens: TokenPair } | { kind: "refused"; error: Error };

const refused = (message: string, reason = "REFRESH_TOKEN_INVALID"): Outcome => ({
  kind: "refused",
  error: new UnauthenticatedError(message, reason),
});

export type RefreshService = ReturnType<typeof createRefreshService>;

/**
 * RefreshToken (RFC 9700 rotation with reuse detection), in two round trips when nothing is unusual:
 * read the token with its session without locks, and if it is a plain rotation (the token is the
 * session's live head, nothing refuses it), rotate in one statement that re-checks the head under
 * the session row's lock (rotateRefreshTokenIfHead). Anything else (an unknown token aside), or a
 * head that moved in between, is decided by the locking path: one transaction that locks the token
 * and its session, decides and writes, so concurrent uses of one token still rotate exactly once and
 * a reuse is still caught. A refusal that must be remembered (the revocation after a reuse) commits
 * before the error is thrown.
 */
export function createRefreshService(deps: RefreshServiceDeps) {
  const { clock } = deps;

  async function refresh(input: RefreshInput): Promise<TokenPair> {
    if (!looksLikeToken("refresh", input.refreshToken)) throw unknownToken();
    const oldHash = hashOpaqueToken(input.refreshToken);
    const seen = await peekRefreshToken(deps.db, oldHash);
    // Tokens are never deleted while their session can refresh, so one unknown now was unknown before.
    if (!seen) throw unknownToken();
    const now = clock.now();
    if (isPlainRotation(seen, input, oldHash, now)) {
      const { tokens, write } = rotation(seen, input, oldHash, now);
      if (await withConnectionTime(deps.db, clock, write)) {
        deps.afterCommit();
        return tokens;
      }
    }
    return refreshUnderLock(input, oldHash);
  }

  /** The token is its live session's head and nothing would refuse it: a rotation decides nothing else. */
  function isPlainRotation(state: RefreshState, input: RefreshInput, oldHash: Uint8Array, now: Date): boolean {
    return (
      !state.sessionRevokedAt &&
      !state.rotatedAt &&
      Buffer.from(state.currentTokenHash).equals(oldHash) &&
      state.sessionAbsoluteExpiresAt > now &&
      state.tokenExpiresAt > now &&
      state.sessionExpiresAt > now &&
      state.deviceId === input.deviceId &&
      !state.deviceBlocked &&
      restrictionError(state.restriction, now) === null
    );
  }

  async function refreshUnderLock(input: RefreshInput, oldHash: Uint8Array): Promise<TokenPair> {
    const outcome = await deps.transact(async (trx): Promise<Outcome> => {
      const now = clock.now();
      const state = await lockRefreshToken(trx, oldHash);
      if (!state) return { kind: "refused", error: unknownToken() };
      if (state.sessionRevokedAt) return refused("this session has been signed out; sign in again", "SESSION_REVOKED");

      const replay = state.rotatedAt ? graceReplay(state, state.rotatedAt, input, now) : null;
      if (state.rotatedAt && !replay) {
        // A token that was already exchanged is back: one of its two holders is not the user.
        await deps.revoker.revokeSessions(
          trx,
          now,
          { userId: state.userId, sessionIds: [state.sessionId] },
          "refresh_token_reuse",
          {
            revokedByUserId: null,
            ip: input.ip,
            userAgent: input.userAgent,
          },
        );
        return refused(
          "this refresh token was already used; the session has been signed out for safety",
          "REFRESH_TOKEN_REUSED",
        );
      }
      if (state.sessionAbsoluteExpiresAt <= now) {
        // Nothing of the session outlives its absolute end (session-lifetime.ts), so it has simply
        // expired: there is no token left to revoke.
        return refused(
          "this session has reached its maximum age (SESSION_MAX_AGE); sign in again",
          "SESSION_MAX_AGE_REACHED",
        );
      }
      if (state.tokenExpiresAt <= now || state.sessionExpiresAt <= now)
        return refused("the refresh token has expired; sign in again", "REFRESH_TOKEN_EXPIRED");
      if (state.deviceId !== input.deviceId) return refused("this refresh token belongs to another device");
      if (state.deviceBlocked) {
        return {
          kind: "refused",
          error: new PermissionDeniedError("this device is blocked for this account", "DEVICE_BLOCKED"),
        };
      }
      const restricted = restrictionError(state.restriction, now);
      if (restricted) return { kind: "refused", error: restricted };
      if (replay) return { kind: "tokens", tokens: replay };

      // The same statement as the optimistic path: under these locks its re-check of the head holds
      // (only a rotation moves the head, and it marks the old token rotated in the same statement).
      const { tokens, write } = rotation(state, input, oldHash, now);
      const written = await write(trx, now);
      return { kind: "tokens", tokens: guaranteed(written ? tokens : undefined, "the locked rotation always writes") };
    });
    if (outcome.kind === "refused") throw outcome.error;
    return outcome.tokens;
  }

  /** The pair the first rotation returned, if this is a retry of it: soon enough, and nothing happened since. */
  function graceReplay(state: RefreshState, rotatedAt: Date, input: RefreshInput, now: Date): TokenPair | null {
    const recent = now.getTime() - rotatedAt.getTime() <= deps.reuseGraceMs;
    const successorIsHead =
      state.successorHash !== null && Buffer.from(state.successorHash).equals(state.currentTokenHash);
    if (!recent || !successorIsHead || !state.successorBox || state.deviceId !== input.deviceId) return null;
    return openTokenPair(input.refreshToken, state.successorBox);
  }

  /**
   * Issues the new pair, and the write of the rotation (rotateRefreshTokenIfHead): false when the head
   * had moved. The write takes the time its event is dated with (occurred_at, once the connection that
   * writes is held); the pair is made before, so no connection waits on the signature.
   */
  function rotation(
    state: RefreshState,
    input: RefreshInput,
    oldHash: Uint8Array,
    now: Date,
  ): { tokens: TokenPair; write: (db: Kysely<AuthDatabase>, occurredAt: Date) => Promise<boolean> } {
    const identifiers = state.identifiers.map(
      (id): UserIdentifier => ({ type: id.type === "phone" ? "phone" : "email", identifier: id.identifier }),
    );
    const access = deps.accessTokens.issue(
      {
        userId: state.userId,
        sessionId: state.sessionId,
        deviceId: state.deviceId,
        identifiers,
        // A refresh is not an authentication: the token keeps the session's (OpenID Connect auth_time).
        authentication: sessionAuthenticationFrom(state.authTime, state.authMethods),
      },
      now,
      state.sessionAbsoluteExpiresAt,
    );
    const next = newOpaqueToken("refresh");
    const tokens: TokenPair = {
      accessToken: access.token,
      refreshToken: next.token,
      tokenType: "Bearer",
      expiresIn: access.expiresIn,
    };
    const expiresAt = refreshTokenExpiry(now, state.sessionAbsoluteExpiresAt, deps.lifetime);
    const rotated = {
      oldHash,
      newHash: next.hash,
      successorBox: sealTokenPair(input.refreshToken, tokens),
      sessionId: state.sessionId,
      deviceRecordId: state.deviceRecordId,
      now,
      expiresAt,
      accessExpiresAt: access.expiresAt,
      ip: input.ip,
      network: networkOf(input.ip),
      userAgent: input.userAgent,
    };
    const write = (db: Kysely<AuthDatabase>, occurredAt: Date) =>
      rotateRefreshTokenIfHead(db, rotated, [
        sessionRefreshedEvent(occurredAt, {
          userId: state.userId,
          sessionId: state.sessionId,
          deviceId: state.deviceId,
          ip: input.ip,
          userAgent: input.userAgent,
          expiresAt,
        }),
      ]);
    return { tokens, write };
  }

  return { refresh };
}

function unknownToken(): UnauthenticatedError {
  return new UnauthenticatedError("the refresh token is unknown; sign in again", "REFRESH_TOKEN_INVALID");
}
