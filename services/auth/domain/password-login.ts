import type { Clock } from "../../shared/clock.js";
import { PermissionDeniedError, RateLimitedError, UnauthenticatedError } from "../../shared/errors/domain-errors.js";
import { normalizeIdentifier, type IdentifierType } from "../../shared/identifiers.js";
import type { Transact } from "../../shared/outbox/transact.js";
import {
  lockPasswordCheck,
  recordPasswordFailure,
  settlePasswordSuccess,
  type PasswordSuccess,
} from "../store/password-store.js";
import { recordRateLimitHit } from "../store/rate-limit-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { clientNetwork } from "../../shared/client-network.js";
import type { LoginResult } from "./login-service.js";
import { afterWrongCode, currentFailures, lockRemainingMs, type LockoutPolicy } from "./otp-lockout.js";
import type { PasswordHasher } from "./password-hasher.js";
import type { SessionStarter } from "./session-starter.js";

export interface PasswordLoginDeps {
  transact: Transact<AuthDatabase>;
  clock: Clock;
  hasher: PasswordHasher;
  sessions: SessionStarter;
  /** Wrong passwords per identifier: the same doubling lockout as wrong codes (otp-lockout.ts). */
  lockout: LockoutPolicy;
  /** Wrong passwords per client IP within a sliding window, across identifiers. */
  ipLimit: { windowMs: number; maxFailures: number };
  defaultPhoneRegion?: string;
}

export interface PasswordLoginInput {
  identifierType: IdentifierType;
  identifier: string;
  password: string;
  deviceId: string;
  deviceName: string;
  ip: string;
  userAgent: string;
}

type Reservation =
  | { kind: "locked"; retryAfterMs: number }
  | { kind: "reserved"; userId: string | null; hash: string | null; priorFailures: number };

export type PasswordLogin = ReturnType<typeof createPasswordLogin>;

/** The one answer for an unknown identifier, an account without a password and a wrong password. */
export const wrongCredentials = () =>
  new UnauthenticatedError("the identifier or password is not correct", "CREDENTIALS_INVALID");

/**
 * LoginWithPassword. An attempt is counted as a failure BEFORE the password is checked (on the
 * identifier, and on the client IP), in a short transaction under the identifier's row lock, and
 * given back once it turns out right. So the limits are exact under any concurrency without holding
 * a lock or a connection through the 25 ms of argon2: 20 parallel guesses at an identifier with a
 * threshold of 5 get exactly 5 checks, not 20.
 *
 * Unknown identifiers, accounts without a password and wrong passwords take the same path: the same
 * statements, one argon2 check (against a dummy hash made with today's parameters when there is no
 * real one), the same error. The guard row exists for every identifier tried, so the lockout itself
 * tells nothing either. A right password then signs in through the session starter, exactly as
 * Login does (device, restrictions, suspicious-login checks, events).
 */
export function createPasswordLogin(deps: PasswordLoginDeps) {
  const { clock, hasher } = deps;

  async function login(input: PasswordLoginInput): Promise<LoginResult> {
    const identifier = normalizeIdentifier(input.identifierType, input.identifier, deps.defaultPhoneRegion);
    const ipKey = `password-fail:ip:${clientNetwork(input.ip)}`;

    const reservation = await deps.transact(async (trx): Promise<Reservation> => {
      const now = clock.now();
      // Identifier first, then IP: every writer takes the two row locks in this order.
      const state = await lockPasswordCheck(trx, identifier, now);
      const lockedMs = lockRemainingMs(state, now);
      if (lockedMs > 0) return { kind: "locked", retryAfterMs: lockedMs };
      if (ipKey) {
        const hit = await recordRateLimitHit(trx, ipKey, now, deps.ipLimit.windowMs);
        // Thrown inside: the hit and the guard row are rolled back, nothing is counted.
        if (hit.count > deps.ipLimit.maxFailures) throw ipLimited(hit.oldest, now);
      }
      const guard = afterWrongCode(state, now, deps.lockout);
      await recordPasswordFailure(trx, identifier, guard, now);
      return {
        kind: "reserved",
        userId: state.userId,
        hash: state.hash,
        priorFailures: currentFailures(state, now, deps.lockout),
      };
    });
    if (reservation.kind === "locked") throw identifierLocked(reservation.retryAfterMs);

    const matches = await hasher.verify(reservation.hash ?? hasher.dummyHash, input.password);
    if (!matches || reservation.hash === null || reservation.userId === null) throw wrongCredentials();

    const success: Omit<PasswordSuccess, "now"> = {
      identifier,
      userId: reservation.userId,
      checkedHash: reservation.hash,
      ipKey,
      rehash: hasher.needsRehash(reservation.hash) ? await hasher.hash(input.password) : null,
    };
    try {
      return await deps.transact(async (trx) => {
        const started = await deps.sessions.startSession(trx, {
          userId: success.userId,
          newUser: false,
          method: "password",
          identifier,
          identifierType: input.identifierType,
          deviceId: input.deviceId,
          deviceName: input.deviceName,
          ip: input.ip,
          userAgent: input.userAgent,
          recentFailures: reservation.priorFailures,
        });
        // After the starter took the user's gate: a password reset either committed before (the
        // checked hash is gone: refuse) or waits for this session and then revokes it.
        if (!(await settlePasswordSuccess(trx, { ...success, now: clock.now() }))) throw wrongCredentials();
        return {
          tokens: started.tokens,
          userId: success.userId,
          sessionId: started.sessionId,
          newUser: false,
          stepUpRequired: started.stepUpRequired,
        };
      });
    } catch (error) {
      // Refused for the device or the account (rolled back), yet the password was right: it must
      // not stay counted as a wrong one.
      if (error instanceof PermissionDeniedError) {
        await deps.transact((trx) => settlePasswordSuccess(trx, { ...success, rehash: null, now: clock.now() }));
      }
      throw error;
    }
  }

  function identifierLocked(retryAfterMs: number): RateLimitedError {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new RateLimitedError(
      retryAfterMs,
      `too many wrong passwords for this identifier; retry in ${seconds} s`,
      "PASSWORD_LOCKED",
    );
  }

  function ipLimited(oldest: Date, now: Date): RateLimitedError {
    const retryAfterMs = oldest.getTime() + deps.ipLimit.windowMs - now.getTime();
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new RateLimitedError(
      retryAfterMs,
      `too many wrong passwords from this network; retry in ${seconds} s`,
      "PASSWORD_IP_LIMITED",
    );
  }

  return { login };
}
