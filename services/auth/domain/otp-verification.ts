import type { Clock } from "../../shared/clock.js";
import { withConnectionTime } from "../../shared/database/connection-time.js";
import { FailedPreconditionError, RateLimitedError, UnauthenticatedError } from "../../shared/errors/domain-errors.js";
import { normalizeIdentifier, type IdentifierType } from "../../shared/identifiers.js";
import type { Kysely } from "kysely";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import type { Transact } from "../../shared/outbox/transact.js";
import { otpVerifiedEvent } from "../events/auth-events.js";
import {
  lockOtpCheck,
  peekOtpCheck,
  recordOtpVerified,
  recordOtpVerifiedIfUnchanged,
  recordWrongOtpGuess,
  type NewVerificationToken,
  type OtpCheckState,
  type WrongOtpGuess,
} from "../store/otp-check-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { otpCodeMatches } from "./otp-codes.js";
import {
  afterUnboundWrongCode,
  afterWrongCode,
  currentFailures,
  lockRemainingMs,
  unboundRefusalMs,
  type LockoutPolicy,
  type UnboundGuessAllowance,
} from "./otp-lockout.js";
import type { OtpPurpose } from "./otp-purpose.js";
import { hashOpaqueToken, newOpaqueToken } from "./opaque-tokens.js";

export interface OtpVerificationDeps {
  /** For the optimistic path's autocommit statements. */
  db: Kysely<AuthDatabase>;
  transact: Transact<AuthDatabase>;
  /** Wakes the outbox relay after a write outside `transact` that recorded events. */
  afterCommit: () => void;
  clock: Clock;
  hashKey: Uint8Array;
  /** Wrong guesses per code, made with its challenge. */
  maxAttempts: number;
  lockout: LockoutPolicy;
  unboundGuesses: UnboundGuessAllowance;
  verificationTokenLifetimeMs: number;
  defaultPhoneRegion?: string;
  /** Told after a wrong code locked (or kept locking) the identifier: for the metric operators watch. */
  onIdentifierLocked?: () => void;
}

export interface VerifyOtpInput {
  identifierType: IdentifierType;
  identifier: string;
  purpose: OtpPurpose;
  code: string;
  /** The challenge id SendOtp returned with the code; empty from clients that send none. */
  challengeId: string;
  ip: string;
  userAgent: string;
}

export interface VerifyOtpResult {
  verificationToken: string;
  expiresAt: Date;
}

type Decision =
  | { kind: "answer"; outcome: Outcome }
  | { kind: "wrong"; guess: WrongOtpGuess }
  | {
      kind: "verified";
      attempts: number;
      result: VerifyOtpResult;
      token: NewVerificationToken;
      /** auth.otp.verified, built once the time of its write is known (its occurred_at). */
      eventsAt: (recordedAt: Date) => OutboxRow[];
    };

type Outcome =
  | { kind: "verified"; result: VerifyOtpResult }
  | { kind: "wrong"; lockedIdentifier: boolean }
  | { kind: "no_live_code" }
  | { kind: "locked"; retryAfterMs: number }
  | { kind: "unbound_spent"; retryAfterMs: number };

// Compared against when there is no live code, so that answer takes the same work as a wrong one.
const noCodeHash = new Uint8Array(32);

export type OtpVerification = ReturnType<typeof createOtpVerification>;

export function createOtpVerification(deps: OtpVerificationDeps) {
  const { clock } = deps;

  /**
   * Turns a right code into a single-use verification token. A wrong guess is decided and written
   * inside the locking transaction and thrown only after it committed, so it is counted even though
   * the call fails; answers that write nothing (locked, no live code) may come from the read without
   * locks, which is as true as a locked read at the moment it was taken.
   *
   * A guess that names its code by the challenge id counts an attempt on that code only; a guess
   * without one is checked against the newest code but counts on the identifier's own allowance
   * for such guesses (otp-lockout.ts), so no stranger can spend the attempts of the owner's code.
   */
  async function verify(input: VerifyOtpInput): Promise<VerifyOtpResult> {
    const identifier = normalizeIdentifier(input.identifierType, input.identifier, deps.defaultPhoneRegion);
    const now = clock.now();
    const challengeHash = input.challengeId ? hashOpaqueToken(input.challengeId) : null;
    const check = { identifier, purpose: input.purpose, challengeHash, now };
    // Optimistic path: decide on a read without locks. An answer that writes nothing stands as read;
    // a right code is recorded by one statement that re-checks the guard under lock. Wrong codes,
    // first checks of an identifier and a guard that moved in between take the locking path.
    const seen = await peekOtpCheck(deps.db, check);
    const decision = decide(input, identifier, challengeHash, seen, now);
    let outcome: Outcome | undefined;
    if (decision.kind === "answer") outcome = decision.outcome;
    if (decision.kind === "verified" && seen.guardExists) {
      const { token, eventsAt, result, attempts } = decision;
      const recorded = await withConnectionTime(deps.db, clock, (connection, recordedAt) =>
        recordOtpVerifiedIfUnchanged(connection, token, { state: seen, attempts: attempts - 1 }, eventsAt(recordedAt)),
      );
      if (recorded) {
        deps.afterCommit();
        outcome = { kind: "verified", result };
      }
    }
    outcome ??= await deps.transact(async (trx): Promise<Outcome> => {
      const state = await lockOtpCheck(trx, check);
      const locked = decide(input, identifier, challengeHash, state, now);
      if (locked.kind === "answer") return locked.outcome;
      if (locked.kind === "wrong") {
        await recordWrongOtpGuess(trx, locked.guess);
        return { kind: "wrong", lockedIdentifier: locked.guess.lockedUntil !== null };
      }
      await recordOtpVerified(trx, locked.token, locked.eventsAt(clock.now()));
      return { kind: "verified", result: locked.result };
    });

    switch (outcome.kind) {
      case "verified":
        return outcome.result;
      case "wrong":
        if (outcome.lockedIdentifier) deps.onIdentifierLocked?.();
        throw new UnauthenticatedError("the code is not correct", "OTP_INVALID");
      case "no_live_code":
        // One answer for never sent, expired, already used and used up: nothing to learn from it.
        throw new FailedPreconditionError(
          "there is no valid code for this identifier and purpose; request a new one",
          "OTP_NOT_ACTIVE",
        );
      case "locked": {
        const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
        throw new RateLimitedError(
          outcome.retryAfterMs,
          `too many wrong codes for this identifier; retry in ${seconds} s`,
          "OTP_VERIFY_LOCKED",
        );
      }
      case "unbound_spent": {
        const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
        throw new RateLimitedError(
          outcome.retryAfterMs,
          `too many wrong codes without a challenge_id for this identifier; send the challenge_id from SendOtp, or retry in ${seconds} s`,
          "OTP_UNBOUND_GUESSES_SPENT",
        );
      }
    }
  }

  /**
   * What a guess comes to on `state` (locked, or read without locks), with what to write: nothing
   * (an answer), a wrong guess, or a right one.
   */
  function decide(
    input: VerifyOtpInput,
    identifier: string,
    challengeHash: Uint8Array | null,
    state: OtpCheckState,
    now: Date,
  ): Decision {
    const lockedMs = lockRemainingMs(state, now);
    if (lockedMs > 0) return { kind: "answer", outcome: { kind: "locked", retryAfterMs: lockedMs } };
    const unboundRefusedMs = challengeHash ? 0 : unboundRefusalMs(state, now, deps.unboundGuesses);
    if (unboundRefusedMs > 0)
      return { kind: "answer", outcome: { kind: "unbound_spent", retryAfterMs: unboundRefusedMs } };

    const matches = otpCodeMatches(
      deps.hashKey,
      identifier,
      input.purpose,
      input.code,
      state.code?.codeHash ?? noCodeHash,
    );
    if (!state.code) return { kind: "answer", outcome: { kind: "no_live_code" } };
    const attempts = state.code.attempts + 1;

    if (!matches) {
      const guard = afterWrongCode(state, now, deps.lockout);
      const unbound = challengeHash ? null : afterUnboundWrongCode(state, now, deps.unboundGuesses);
      return {
        kind: "wrong",
        guess: {
          identifier,
          code: challengeHash ? { id: state.code.id, close: attempts >= deps.maxAttempts } : null,
          failures: guard.failures,
          lockedUntil: guard.lockedUntil,
          unbound: unbound && { failures: unbound.unboundFailures, since: unbound.unboundSince },
          now,
        },
      };
    }

    const otpId = state.code.id;
    const { token, hash } = newOpaqueToken("verification");
    const expiresAt = new Date(now.getTime() + deps.verificationTokenLifetimeMs);
    return {
      kind: "verified",
      attempts,
      result: { verificationToken: token, expiresAt },
      token: {
        tokenHash: hash,
        otpId,
        identifier,
        identifierType: input.identifierType,
        purpose: input.purpose,
        priorFailures: currentFailures(state, now, deps.lockout),
        createdAt: now,
        expiresAt,
      },
      eventsAt: (recordedAt) => [
        otpVerifiedEvent(recordedAt, {
          otpId,
          userId: state.userId,
          identifierType: input.identifierType,
          identifier,
          purpose: input.purpose,
          attempts,
          ip: input.ip,
          userAgent: input.userAgent,
        }),
      ],
    };
  }

  return { verify };
}
