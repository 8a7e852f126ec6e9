/**
 * The per-identifier lockout of VerifyOtp. Each code allows OTP_MAX_ATTEMPTS guesses, but an
 * attacker could ask for new codes; so wrong guesses are also counted per identifier, across codes
 * and purposes, and from the `threshold`-th on each one locks the identifier for a doubling delay:
 * base, 2 x base, 4 x base, ... up to `maxDelayMs`. With the defaults (5, 1 min, 1 h) that is 5 free
 * guesses, then about 6 more in the first hour, then at most one per hour: a 6-digit code needs
 * hundreds of thousands of guesses. A right code resets the count; so do 24 hours without failures.
 *
 * The price is that anyone who can request a code for someone's identifier can lock that person
 * out for up to `maxDelayMs`; that is why the delay is capped rather than permanent.
 */
export interface LockoutPolicy {
  threshold: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures older than this are forgotten. */
  forgetAfterMs: number;
}

export interface GuardState {
  failures: number;
  lockedUntil: Date | null;
  lastFailureAt: Date | null;
}

/** Failures that still count at `now`. */
export function currentFailures(state: GuardState, now: Date, policy: LockoutPolicy): number {
  if (!state.lastFailureAt || now.getTime() - state.lastFailureAt.getTime() >= policy.forgetAfterMs) return 0;
  return state.failures;
}

/** The guard after one more wrong code at `now`. */
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
