import type { Kysely } from "kysely";
import type { AccessTokenVerifier } from "../../shared/auth/access-token.js";
import { isServicePrincipal, type Principal, type VerifiedCaller } from "../../shared/auth/principal.js";
import { StepUpRequiredError } from "../../shared/auth/recent-authentication.js";
import type { Clock } from "../../shared/clock.js";
import { NotFoundError } from "../../shared/errors/domain-errors.js";
import type { Transact } from "../../shared/outbox/transact.js";
import type { AuthDatabase } from "../store/schema.js";
import { listActiveSessions, sessionBelongsTo, type ActiveSessionRow } from "../store/session-store.js";
import type { RequestOrigin } from "./request-origin.js";
import type { SessionRevoker } from "./session-revocation.js";

export interface SessionView extends ActiveSessionRow {
  current: boolean;
}

export interface TokenValidation {
  /** The person's user id, session and device; empty for a service account's token. */
  userId: string;
  sessionId: string;
  deviceId: string;
  expiresAt: Date;
  roles: string[];
  /** The session's last active authentication as the token carries it (auth_time), and its amr. */
  authTime: Date | undefined;
  amr: string[];
  /** A service account's client id and scopes; empty for a person's token. */
  clientId: string;
  scopes: string[];
}

export type SessionService = ReturnType<typeof createSessionService>;

/** The authenticated session RPCs (Logout, RevokeSession, RevokeAllSessions, ListSessions) and ValidateToken. */
export function createSessionService(deps: {
  db: Kysely<AuthDatabase>;
  transact: Transact<AuthDatabase>;
  clock: Clock;
  verifier: AccessTokenVerifier;
  revoker: SessionRevoker;
  /** The step-up window, named in the refusal a held session gets. */
  stepUpMaxAgeSeconds: number;
  /** Whether a token's session was revoked or has ended (revocation-awareness.ts). */
  isSessionRevoked: (sessionId: string) => boolean | Promise<boolean>;
}) {
  const { clock } = deps;

  /**
   * Ends one session of the caller (its own when `sessionId` is empty). Ending the current session is
   * a logout (auth.logout too); ending another is a revocation from this one. Idempotent: an already
   * ended session of the caller succeeds; someone else's, or an unknown one, is NOT_FOUND.
   */
  async function endSession(
    me: Principal,
    sessionId: string,
    caller: RequestOrigin,
    kind: "logout" | "revoke",
  ): Promise<void> {
    const target = sessionId || me.sessionId;
    if (target !== me.sessionId) requireNotHeld(me);
    const reason = kind === "logout" || target === me.sessionId ? "logout" : "user_revoked";
    await deps.transact(async (trx) => {
      const revoked = await deps.revoker.revokeSessions(
        trx,
        clock.now(),
        { userId: me.userId, sessionIds: [target] },
        reason,
        {
          revokedByUserId: me.userId,
          ...caller,
        },
      );
      if (revoked.length === 0 && !(await sessionBelongsTo(trx, target, me.userId))) {
        throw new NotFoundError("no session with this id belongs to you", "SESSION_NOT_FOUND");
      }
    });
  }

  /**
   * Signing other sessions out needs a session that holds an authentication: any age will do (a
   * person who fears a theft signs everyone out at once, without a fresh code), but a sign-in held
   * for step-up proved too little to end the owner's sessions (docs/product.md, "Step-up").
   */
  function requireNotHeld(me: Principal): void {
    if (me.authTime !== undefined) return;
    throw new StepUpRequiredError(
      deps.stepUpMaxAgeSeconds,
      "this session was held for step-up and cannot sign out other sessions; step up (AuthService.StepUp) and retry",
    );
  }

  async function revokeAll(me: Principal, keepCurrent: boolean, caller: RequestOrigin): Promise<number> {
    requireNotHeld(me);
    return deps.transact(async (trx) => {
      const filter = { userId: me.userId, exceptSessionId: keepCurrent ? me.sessionId : undefined };
      const revoked = await deps.revoker.revokeSessions(trx, clock.now(), filter, "revoke_all", {
        revokedByUserId: me.userId,
        ...caller,
      });
      return revoked.length;
    });
  }

  async function list(me: Principal): Promise<SessionView[]> {
    const sessions = await listActiveSessions(deps.db, me.userId, clock.now());
    return sessions.map((session) => ({ ...session, current: session.id === me.sessionId }));
  }

  /**
   * The token's facts if it is genuine, unexpired, for our audience and its session active; else
   * null. A service account's token has no session: genuine and unexpired is all there is to it.
   */
  async function validate(accessToken: string): Promise<TokenValidation | null> {
    let principal: VerifiedCaller;
    try {
      principal = await deps.verifier.verify(accessToken);
    } catch {
      return null;
    }
    if (isServicePrincipal(principal)) {
      const { clientId, scopes, expiresAt } = principal;
      return {
        userId: "",
        sessionId: "",
        deviceId: "",
        expiresAt,
        roles: ["service"],
        authTime: undefined,
        amr: [],
        clientId,
        scopes,
      };
    }
    if (await deps.isSessionRevoked(principal.sessionId)) return null;
    return {
      userId: principal.userId,
      sessionId: principal.sessionId,
      deviceId: principal.deviceId,
      expiresAt: principal.expiresAt,
      roles: principal.roles,
      authTime: principal.authTime,
      amr: principal.amr,
      clientId: "",
      scopes: [],
    };
  }

  return {
    logout: (me: Principal, sessionId: string, caller: RequestOrigin) => endSession(me, sessionId, caller, "logout"),
    revokeSession: (me: Principal, sessionId: string, caller: RequestOrigin) =>
      endSession(me, sessionId, caller, "revoke"),
    revokeAll,
    list,
    validate,
    isSessionRevoked: deps.isSessionRevoked,
  };
}
