import type { Kysely } from "kysely";
import { requireRecentAuthentication } from "../../shared/auth/recent-authentication.js";
import type { Clock } from "../../shared/clock.js";
import { NotFoundError, PermissionDeniedError, UnauthenticatedError } from "../../shared/errors/domain-errors.js";
import type { Transact } from "../../shared/outbox/transact.js";
import { clearUserPasswordGuards, upsertPassword } from "../store/password-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { holdUserGate } from "../store/user-gate-store.js";
import { readSessionHold } from "../store/step-up-store.js";
import {
  consumeVerificationProof,
  peekVerificationToken,
  type VerificationProof,
} from "../store/verification-proof-store.js";
import { requireHeldSessionAccepts, sessionHoldFrom } from "./held-session.js";
import { hashOpaqueToken, looksLikeToken } from "./opaque-tokens.js";
import type { PasswordHasher } from "./password-hasher.js";
import type { RequestOrigin } from "./request-origin.js";
import type { SessionRevoker } from "./session-revocation.js";

export interface PasswordServiceDeps {
  db: Kysely<AuthDatabase>;
  transact: Transact<AuthDatabase>;
  revoker: SessionRevoker;
  clock: Clock;
  hasher: PasswordHasher;
  /** How recent the session's authentication must be for SetPassword without a token of its own. */
  stepUpMaxAgeSeconds: number;
}

/** The signed-in caller of SetPassword. */
export interface SetPasswordCaller extends RequestOrigin {
  userId: string;
  sessionId: string;
  /** The session's last active authentication (the access token's auth_time). */
  authTime: Date | undefined;
}

/**
 * Purposes whose verification token proves, to SetPassword, that the caller holds the identifier
 * now: the call's own step-up. STEP_UP is the one made for it; the others are accepted as before
 * step-up existed, since each proves the same (a code read just now on one of the caller's
 * identifiers).
 */
const setPasswordPurposes = ["step_up", "login", "phone_verification", "email_verification"] as const;
const resetPurposes = ["password_reset"] as const;

const setPasswordRefused = () =>
  new PermissionDeniedError(
    "the verification token is not a fresh step-up, login, phone or email verification token for one of your identifiers; verify a code again",
    "VERIFICATION_TOKEN_INVALID",
  );
const resetTokenInvalid = () =>
  new UnauthenticatedError(
    "the verification token is unknown, expired, already used or not for a password reset; verify a code again",
    "VERIFICATION_TOKEN_INVALID",
  );
const noAccount = () => new NotFoundError("no account holds this identifier", "ACCOUNT_NOT_FOUND");

export type PasswordService = ReturnType<typeof createPasswordService>;

/**
 * SetPassword and ResetPassword. Both look at the verification token before hashing, so a made-up
 * token costs a lookup, not an argon2 hash; then hash outside any transaction; then use the token up
 * and store the hash in one transaction (a refusal leaves the token usable).
 */
export function createPasswordService(deps: PasswordServiceDeps) {
  const { clock } = deps;

  /**
   * The signed-in user sets or replaces their password; their sessions are kept. A sensitive action:
   * the proof of a recent authentication is the verification token when one is given (used up
   * here, the session's own authentication left as it is), else the session's authentication.
   */
  async function setPassword(caller: SetPasswordCaller, verificationToken: string, password: string): Promise<void> {
    if (verificationToken === "") {
      requireRecentAuthentication(caller, { maxAgeSeconds: deps.stepUpMaxAgeSeconds, now: clock.now() });
      const hash = await deps.hasher.hash(password);
      await deps.transact(async (trx) => {
        await upsertPassword(trx, caller.userId, hash, clock.now());
        await clearUserPasswordGuards(trx, caller.userId);
      });
      return;
    }
    if (!looksLikeToken("verification", verificationToken)) throw setPasswordRefused();
    const tokenHash = hashOpaqueToken(verificationToken);
    const seen = await peekVerificationToken(deps.db, tokenHash, setPasswordPurposes, clock.now());
    if (!seen || seen.holderUserId !== caller.userId) throw setPasswordRefused();
    await requireTokenStepsUp(deps.db, caller, seen);

    const hash = await deps.hasher.hash(password);
    await deps.transact(async (trx) => {
      const now = clock.now();
      const proof = await consumeVerificationProof(trx, tokenHash, setPasswordPurposes, now);
      if (!proof || proof.holderUserId !== caller.userId) throw setPasswordRefused();
      await requireTokenStepsUp(trx, caller, proof);
      await upsertPassword(trx, caller.userId, hash, now);
      await clearUserPasswordGuards(trx, caller.userId);
    });
  }

  /**
   * The token is this call's step-up, so a session held for step-up takes it only where StepUp
   * would (held-session.ts): a held code sign-in cannot set a password with a code to the very
   * identifier it signed in with, and then step up with that password.
   */
  async function requireTokenStepsUp(
    db: Kysely<AuthDatabase>,
    caller: SetPasswordCaller,
    proof: VerificationProof,
  ): Promise<void> {
    if (caller.authTime !== undefined) return;
    const hold = await readSessionHold(db, caller);
    if (!hold || !proof.heldSince) throw setPasswordRefused();
    requireHeldSessionAccepts(sessionHoldFrom(hold), {
      kind: "otp",
      identifier: proof.identifier,
      heldSince: proof.heldSince,
    });
  }

  /**
   * Someone who proved an identifier with a PASSWORD_RESET code replaces its account's password;
   * every session of the account is revoked (whoever knew the old password is signed out).
   */
  async function resetPassword(caller: RequestOrigin, verificationToken: string, newPassword: string): Promise<void> {
    if (!looksLikeToken("verification", verificationToken)) throw resetTokenInvalid();
    const tokenHash = hashOpaqueToken(verificationToken);
    const seen = await peekVerificationToken(deps.db, tokenHash, resetPurposes, clock.now());
    if (!seen) throw resetTokenInvalid();
    if (!seen.holderUserId) throw noAccount();

    const hash = await deps.hasher.hash(newPassword);
    await deps.transact(async (trx) => {
      const now = clock.now();
      const proof = await consumeVerificationProof(trx, tokenHash, resetPurposes, now);
      if (!proof) throw resetTokenInvalid();
      const userId = proof.holderUserId;
      if (!userId) throw noAccount();
      // Exclusive: a password sign-in in flight finishes first (and its session is revoked below);
      // one that starts later sees the new hash and is refused.
      await holdUserGate(trx, userId, "exclusive");
      await upsertPassword(trx, userId, hash, now);
      await clearUserPasswordGuards(trx, userId);
      await deps.revoker.revokeSessions(trx, now, { userId }, "password_reset", {
        revokedByUserId: userId,
        ip: caller.ip,
        userAgent: caller.userAgent,
      });
    });
  }

  return { setPassword, resetPassword };
}
