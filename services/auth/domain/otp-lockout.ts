/**
 * The identifier-wide lock of VerifyOtp, a backstop against brute force. Guesses are bound to the
 * code's challenge (3 per code), and codes are limited per identifier (3 sends per 15 minutes), so
 * one identifier takes at most about a dozen wrong guesses per quarter hour however many networks
 * the attacker has. Over days that still adds up, so wrong guesses are also counted per identifier,
 * across codes and purposes, and from the `threshold`-th on each one locks the identifier for a
 * doubling delay: base, 2 x base, 4 x base, ... up to `maxDelayMs`.
 *
 * While locked, the owner cannot sign in with a code either: that is why the threshold is far above
 * what a person mistyping ever reaches (default 100), why the delay is capped, and why every lock
 * is counted in a metric operators are alerted on. A right code resets the count; so do
 * `forgetAfterMs` without failures.
 */
export interface LockoutPolicy {
  threshold: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures older than this are forgotten. */
  forgetAfterMs: number;
}

/**
 * Guesses made without a challenge id (clients from before challenges) reach the newest code but
 * must not spend its attempts, or anyone who knows the identifier could kill the owner's code. They
 * get an allowance per identifier instead: `maxFailures` wrong ones per `windowMs`, counted from the
 * first, then none until the window has passed. Strangers can use it up; that keeps out only
 * clients that send no challenge id.
 */
export interface UnboundGuessAllowance {
  maxFailures: number;
  windowMs: number;
}

export interface GuardState {
  failures: number;
  lockedUntil: Date | null;
  lastFailureAt: Date | null;
}

export interface UnboundGuesses {
  unboundFailures: number;
  unboundSince: Date | null;
}

/** Failures that still count at `now`. */
export function currentFailures(state: GuardState, now: Date, policy: LockoutPolicy): number {
  if (!state.lastFailureAt || now.getTime() - state.lastFailureAt.getTime() >= policy.forgetAfterMs) return 0;
  return state.failures;
}

/** The identifier-wide part of the guard after one more wrong code at `now`. */
export function afterWrongCode(state: GuardState, now: Date, policy: LockoutPolicy): GuardState {
  const failures = currentFailures(state, now, policy) + 1;
  if (failures < policy.threshold) return { failures, lockedUntil: null, lastFailureAt: now };
  const doublings = Math.min(failures - policy.threshold, 30);
  const delayMs = Math.min(policy.baseDelayMs * 2 ** doublings, policy.maxDelayMs);
  return { failures, lockedUntil: new Date(now.getTime() + delayMs), lastFailureAt: now };
}

/** How long the identifier stays locked at `now` (0 when it is not). */
export function lockRemainingMs(state: GuardState, now: Date): number {
  return state.lockedUntil ? Math.max(0, state.lockedUntil.getTime() - now.getTime()) : 0;
}

/** How long guesses without a challenge stay refused at `now` (0 while the allowance lasts). */
export function unboundRefusalMs(state: UnboundGuesses, now: Date, allowance: UnboundGuessAllowance): number {
  if (!state.unboundSince) return 0;
  const remainingMs = state.unboundSince.getTime() + allowance.windowMs - now.getTime();
  if (remainingMs <= 0 || state.unboundFailures < allowance.maxFailures) return 0;
  return remainingMs;
}

/** The allowance after one more wrong guess without a challenge at `now`. */
export function afterUnboundWrongCode(
  state: UnboundGuesses,
  now: Date,
  allowance: UnboundGuessAllowance,
): { unboundFailures: number; unboundSince: Date } {
  const since = state.unboundSince;
  if (!since || now.getTime() - since.getTime() >= allowance.windowMs) return { unboundFailures: 1, unboundSince: now };
  return { unboundFailures: state.unboundFailures + 1, unboundSince: since };
}
