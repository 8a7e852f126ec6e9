import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { PermissionDeniedError, RateLimitedError, UnauthenticatedError } from "../../shared/errors/domain-errors.js";
import type { Transact } from "../../shared/outbox/transact.js";
import type { RequestOrigin } from "./request-origin.js";
import { sessionSteppedUpEvent } from "../events/session-events.js";
import { recordPasswordFailure } from "../store/password-store.js";
import type { AuthDatabase } from "../store/schema.js";
import {
  lockActiveSession,
  lockStepUpPasswordCheck,
  readSessionHold,
  recordStepUp,
  settleStepUpPassword,
} from "../store/step-up-store.js";
import { consumeVerificationProof } from "../store/verification-proof-store.js";
import type { AccessTokenIssuer, UserIdentifier } from "./access-tokens.js";
import { requireHeldSessionAccepts, sessionHoldFrom, type HeldStepUpEvidence } from "./held-session.js";
import { hashOpaqueToken, looksLikeToken } from "./opaque-tokens.js";
import { afterWrongCode, lockRemainingMs, type LockoutPolicy } from "./otp-lockout.js";
import type { PasswordHasher } from "./password-hasher.js";
import type { AuthMethod, SessionAuthentication } from "./session-authentication.js";

/** The signed-in session stepping up. */
export interface StepUpCaller extends RequestOrigin {
  userId: string;
  sessionId: string;
}

/** The proof: a STEP_UP verification token for one of the caller's identifiers, or their password. */
export type StepUpProof = { kind: "otp"; verificationToken: string } | { kind: "password"; password: string };

export interface StepUpResult {
  accessToken: string;
  tokenType: "Bearer";
  expiresIn: number;
  authentication: SessionAuthentication;
}

export interface StepUpDeps {
  transact: Transact<AuthDatabase>;
  clock: Clock;
  hasher: PasswordHasher;
  accessTokens: AccessTokenIssuer;
  /** Wrong step-up passwords per user: the same doubling lockout as LoginWithPassword's. */
  lockout: LockoutPolicy;
}

const stepUpPurposes = ["step_up"] as const;

const invalidToken = () =>
  new PermissionDeniedError(
    "stepping up needs a fresh step-up verification token for one of your identifiers; verify a code again",
    "VERIFICATION_TOKEN_INVALID",
  );
/**
 * PERMISSION_DENIED, not UNAUTHENTICATED: the caller's session is good, only this proof is not, and
 * a client that signs out on UNAUTHENTICATED must not do so for a mistyped password.
 */
const wrongPassword = () => new PermissionDeniedError("the password is not correct", "CREDENTIALS_INVALID");
const sessionEnded = () =>
  new UnauthenticatedError("this session has been signed out; sign in again", "SESSION_REVOKED");

export type StepUp = ReturnType<typeof createStepUp>;

/**
 * StepUp: a fresh proof on an existing session. The session records it as its authentication
 * (auth_time = now, amr = the proof's method), so every access token it gets from now on, by this
 * answer or by refreshing, carries it; the refresh token is left as it is. A refusal changes
 * nothing: the verification token stays usable, the session keeps its earlier authentication.
 */
export function createStepUp(deps: StepUpDeps) {
  const { clock } = deps;

  async function stepUp(caller: StepUpCaller, proof: StepUpProof): Promise<StepUpResult> {
    if (proof.kind === "otp") return withCode(caller, proof.verificationToken);
    return withPassword(caller, proof.password);
  }

  async function withCode(caller: StepUpCaller, verificationToken: string): Promise<StepUpResult> {
    if (!looksLikeToken("verification", verificationToken)) throw invalidToken();
    const tokenHash = hashOpaqueToken(verificationToken);
    return deps.transact(async (trx) => {
      const now = clock.now();
      const proof = await consumeVerificationProof(trx, tokenHash, stepUpPurposes, now);
      // The identifier must be the caller's now: one replaced away or someone else's proves nothing here.
      if (!proof || proof.holderUserId !== caller.userId || !proof.heldSince) throw invalidToken();
      return record(trx, caller, { kind: "otp", identifier: proof.identifier, heldSince: proof.heldSince }, now);
    });
  }

  async function withPassword(caller: StepUpCaller, password: string): Promise<StepUpResult> {
    // Counted as a failure before the check, under the guard's row lock, and given back when right
    // (as LoginWithPassword does): exact under concurrency, no lock held through argon2.
    // A held session that may not step up with the password is told so before any guess is counted.
    const guardKey = `step-up:user:${caller.userId}`;
    const reservation = await deps.transact(async (trx) => {
      const now = clock.now();
      const hold = await readSessionHold(trx, caller);
      if (!hold) throw sessionEnded();
      const state = await lockStepUpPasswordCheck(trx, guardKey, caller.userId, now);
      if (state.hash !== null && state.setAt) {
        requireHeldSessionAccepts(sessionHoldFrom(hold), { kind: "password", setAt: state.setAt });
      }
      const lockedMs = lockRemainingMs(state, now);
      if (lockedMs > 0) return { locked: lockedMs, hash: null, setAt: null };
      await recordPasswordFailure(trx, guardKey, afterWrongCode(state, now, deps.lockout), now);
      return { locked: 0, hash: state.hash, setAt: state.setAt };
    });
    if (reservation.locked > 0) throw locked(reservation.locked);
    const checkedHash = reservation.hash;
    const matches = await deps.hasher.verify(checkedHash ?? deps.hasher.dummyHash, password);
    if (!matches || checkedHash === null || reservation.setAt === null) throw wrongPassword();
    const setAt = reservation.setAt;
    return deps.transact(async (trx) => {
      const now = clock.now();
      if (!(await settleStepUpPassword(trx, { guardKey, userId: caller.userId, checkedHash, now }))) {
        throw wrongPassword();
      }
      return record(trx, caller, { kind: "password", setAt }, now);
    });
  }

  async function record(
    trx: Kysely<AuthDatabase>,
    caller: StepUpCaller,
    evidence: HeldStepUpEvidence,
    now: Date,
  ): Promise<StepUpResult> {
    const session = await lockActiveSession(trx, caller, now);
    if (!session) throw sessionEnded();
    // Under the session's lock; a refusal rolls back the use of the verification token.
    requireHeldSessionAccepts(sessionHoldFrom(session.hold), evidence);
    const method: AuthMethod = evidence.kind === "otp" ? "otp" : "pwd";
    const authentication: SessionAuthentication = { time: now, methods: [method] };
    const identifiers = session.identifiers.map(
      (id): UserIdentifier => ({ type: id.type === "phone" ? "phone" : "email", identifier: id.identifier }),
    );
    const access = deps.accessTokens.issue(
      { userId: caller.userId, sessionId: caller.sessionId, deviceId: session.deviceId, identifiers, authentication },
      now,
      // As sign-in and refresh do: the access token ends no later than its session.
      session.endsAt,
    );
    await recordStepUp(
      trx,
      { sessionId: caller.sessionId, now, methods: authentication.methods, accessExpiresAt: access.expiresAt },
      [
        sessionSteppedUpEvent(now, {
          userId: caller.userId,
          sessionId: caller.sessionId,
          deviceId: session.deviceId,
          method: method === "otp" ? "otp" : "password",
          ip: caller.ip,
          userAgent: caller.userAgent,
        }),
      ],
    );
    return { accessToken: access.token, tokenType: "Bearer", expiresIn: access.expiresIn, authentication };
  }

  function locked(retryAfterMs: number): RateLimitedError {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new RateLimitedError(retryAfterMs, `too many wrong passwords; retry in ${seconds} s`, "PASSWORD_LOCKED");
  }

  return { stepUp };
}
