import { PermissionDeniedError } from "../../shared/errors/domain-errors.js";
import type { SignInMethod } from "./sessions.js";

/**
 * A session as far as stepping it up is concerned. It is **held** while it holds no authentication
 * the service vouches for (`auth_time` null): its sign-in was held for step-up by the
 * suspicious-login policy, or it dates from before step-up existed; it stays held until a step-up.
 */
export interface SessionHold {
  held: boolean;
  /** How the session signed in. */
  method: SignInMethod;
  /** The identifier the sign-in proved; null for sessions from before it was recorded. */
  signInIdentifier: string | null;
  startedAt: Date;
}

/** The stored form back into the domain's (the method column holds a SignInMethod). */
export function sessionHoldFrom(stored: Omit<SessionHold, "method"> & { method: string }): SessionHold {
  return { ...stored, method: stored.method === "otp" ? "otp" : "password" };
}

/** What a step-up proof is, as the held-session rule sees it. */
export type HeldStepUpEvidence =
  /** A code read on `identifier`, which the account has held since `heldSince`. */
  | { kind: "otp"; identifier: string; heldSince: Date }
  /** The account's password, last set at `setAt`. */
  | { kind: "password"; setAt: Date };

/**
 * Whether `evidence` may step up `session` (docs/product.md, "Step-up"). A session that holds an
 * authentication steps up with any proof of the account. A held one must bring a proof *other than
 * the one its sign-in used*, or re-entering the same password (or code) would clear the hold that
 * proof alone earned, and a thief with one factor would reach every sensitive RPC:
 *
 * - signed in with the password: only a code, to an identifier the account held before the session
 *   started;
 * - signed in with a code: a code to another identifier the account held before the session started,
 *   or the password if it was set before the session started.
 *
 * "Before the session started" keeps anything the held session itself could have arranged out of
 * it. A held code session whose sign-in identifier is unknown (older than this rule) accepts no code.
 */
export function heldSessionAccepts(session: SessionHold, evidence: HeldStepUpEvidence): boolean {
  if (!session.held) return true;
  if (evidence.kind === "password") {
    return session.method === "otp" && evidence.setAt.getTime() <= session.startedAt.getTime();
  }
  if (evidence.heldSince.getTime() > session.startedAt.getTime()) return false;
  if (session.method === "password") return true;
  return session.signInIdentifier !== null && evidence.identifier !== session.signInIdentifier;
}

/** A held session offered the proof its sign-in already gave (or one it could have arranged). */
export class StepUpProofNotAcceptedError extends PermissionDeniedError {
  constructor(method: SignInMethod) {
    super(
      method === "password"
        ? "this session signed in with the password and was held for step-up; step up with a code to one of your identifiers"
        : "this session signed in with a code and was held for step-up; step up with a code to another of your identifiers, or with your password",
      "STEP_UP_PROOF_NOT_ACCEPTED",
    );
  }
}

/** Throws StepUpProofNotAcceptedError unless `evidence` may step up `session`. */
export function requireHeldSessionAccepts(session: SessionHold, evidence: HeldStepUpEvidence): void {
  if (!heldSessionAccepts(session, evidence)) throw new StepUpProofNotAcceptedError(session.method);
}
