import { describe, expect, it } from "vitest";
import {
  afterWrongCode,
  currentFailures,
  type GuardState,
  type LockoutPolicy,
  lockRemainingMs,
} from "../../../services/auth/domain/otp-lockout.js";

// The per-identifier lockout of VerifyOtp (and of LoginWithPassword, which uses the same
// arithmetic): free guesses up to the threshold, then a lock that doubles with each wrong guess up
// to a cap, forgotten after a quiet day. Time is a value passed in, so nothing here sleeps.

const minute = 60_000;
const hour = 60 * minute;
/** The defaults: OTP_LOCKOUT_THRESHOLD=5, OTP_LOCKOUT_BASE=1m, OTP_LOCKOUT_MAX=1h, forgotten after 24 h. */
const policy: LockoutPolicy = { threshold: 5, baseDelayMs: minute, maxDelayMs: hour, forgetAfterMs: 24 * hour };
const start = new Date("2026-03-01T12:00:00Z");
const fresh: GuardState = { failures: 0, lockedUntil: null, lastFailureAt: null };
const later = (ms: number, from = start) => new Date(from.getTime() + ms);

/** `count` wrong guesses, each made the moment the previous lock ends; the last state and time. */
function guessWrong(count: number, state = fresh, from = start): { state: GuardState; at: Date } {
  let at = from;
  for (let guess = 0; guess < count; guess++) {
    at = later(lockRemainingMs(state, at), at);
    state = afterWrongCode(state, at, policy);
  }
  return { state, at };
}

describe("OTP lockout", () => {
  it("allows the first four wrong guesses without a lock", () => {
    const { state, at } = guessWrong(4);
    expect(state.failures).toBe(4);
    expect(state.lockedUntil).toBeNull();
    expect(lockRemainingMs(state, at)).toBe(0);
  });

  it("locks for the base delay at the threshold-th wrong guess", () => {
    const { state, at } = guessWrong(5);
    expect(lockRemainingMs(state, at)).toBe(minute);
  });

  it("doubles the lock with every further wrong guess: 1, 2, 4, 8, 16, 32 minutes", () => {
    const locks: number[] = [];
    let { state, at } = guessWrong(4);
    for (let guess = 0; guess < 6; guess++) {
      ({ state, at } = guessWrong(1, state, at));
      locks.push(lockRemainingMs(state, at) / minute);
    }
    expect(locks).toEqual([1, 2, 4, 8, 16, 32]);
  });

  it("never locks for longer than the cap, however many guesses are made", () => {
    const { state, at } = guessWrong(60);
    expect(lockRemainingMs(state, at)).toBe(hour);
  });

  it("allows five guesses at once, five more in the first hour, then one an hour", () => {
    const minutesOfGuesses: number[] = [];
    let state = fresh;
    let at = start;
    while (at < later(5 * hour)) {
      minutesOfGuesses.push((at.getTime() - start.getTime()) / minute);
      state = afterWrongCode(state, at, policy);
      at = later(lockRemainingMs(state, at), at);
    }
    expect(minutesOfGuesses).toEqual([0, 0, 0, 0, 0, 1, 3, 7, 15, 31, 63, 123, 183, 243]);
  });

  it("counts down the lock as time passes and ends it at the exact moment", () => {
    const { state, at } = guessWrong(6);
    expect(lockRemainingMs(state, later(30_000, at))).toBe(2 * minute - 30_000);
    expect(lockRemainingMs(state, later(2 * minute, at))).toBe(0);
    expect(lockRemainingMs(state, later(3 * minute, at))).toBe(0);
  });

  it("forgets the failures after a day without one, so the next wrong guess is free again", () => {
    const { state, at } = guessWrong(7);
    expect(currentFailures(state, later(24 * hour - 1, at), policy)).toBe(7);
    expect(currentFailures(state, later(24 * hour, at), policy)).toBe(0);
    const next = afterWrongCode(state, later(24 * hour, at), policy);
    expect(next).toMatchObject({ failures: 1, lockedUntil: null });
  });

  it("keeps counting failures within the day even after a lock has ended", () => {
    const { state, at } = guessWrong(5);
    const afterLock = later(10 * minute, at);
    expect(currentFailures(state, afterLock, policy)).toBe(5);
    expect(lockRemainingMs(afterWrongCode(state, afterLock, policy), afterLock)).toBe(2 * minute);
  });

  it("remembers when the last failure happened, for the day's window", () => {
    const { state, at } = guessWrong(3);
    expect(state.lastFailureAt).toEqual(at);
  });
});
