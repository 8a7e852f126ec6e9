import type { Kysely } from "kysely";
import { RateLimitedError } from "../../shared/errors/domain-errors.js";
import { giveBackSendBudget, type SendBudgetWindow } from "../store/send-budget-store.js";
import type { AuthDatabase } from "../store/schema.js";
import type { IdentifierType } from "../../shared/identifiers.js";

/** How a code travels: an SMS to a phone, a message to an email address. */
export type OtpChannel = "sms" | "email";

export function otpChannelOf(identifierType: IdentifierType): OtpChannel {
  return identifierType === "phone" ? "sms" : "email";
}

export interface SendBudgetPolicy {
  /** Codes per channel per window, across every instance. */
  sendsPerWindow: number;
  windowMs: number;
}

export type OtpSendBudget = ReturnType<typeof createOtpSendBudget>;

/**
 * The global send budget. Per-identifier and per-network limits stop one person or one network,
 * but SMS pumping (fraudsters making a service text premium numbers they are paid for) spreads over
 * many numbers and many networks; only a cap on everything sent bounds what it can cost. Each
 * channel has its own budget, so a flood of one does not stop the other. Windows are aligned to the
 * clock (a 1-hour window runs from hh:00 to hh:00), so across a boundary up to twice the budget can
 * go out in a short time; the budget bounds spend per window, not the instantaneous rate.
 *
 * A send takes its unit in the statement that counts it against its identifier and network, and
 * only if those limits let it through (otp-store.ts's startOtpSend), and gives it back when it is
 * not made (undeliverable): requests those limits refuse, or that wait on their row locks, never
 * spend or hold a unit, so a flood they stop cannot turn the budget into an off switch. When the
 * budget is spent SendOtp is refused for everyone with the time the window ends: fail closed, and
 * loudly (`onSpent`, a metric operators are alerted on).
 */
export function createOtpSendBudget(deps: {
  db: Kysely<AuthDatabase>;
  policy: SendBudgetPolicy;
  onSpent?: (channel: OtpChannel) => void;
}) {
  const { policy } = deps;

  /** The window of `channel` that a send at `now` takes its unit from (taken by otp-store.ts's startOtpSend). */
  function windowOf(channel: OtpChannel, now: Date): SendBudgetWindow {
    const windowStart = new Date(Math.floor(now.getTime() / policy.windowMs) * policy.windowMs);
    return { channel, windowStart, budget: policy.sendsPerWindow };
  }

  /** The refusal of a send that found the window's budget spent (counted for the alert). */
  function spent(window: SendBudgetWindow, now: Date): RateLimitedError {
    deps.onSpent?.(window.channel as OtpChannel);
    const retryAfterMs = window.windowStart.getTime() + policy.windowMs - now.getTime();
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new RateLimitedError(
      retryAfterMs,
      `the service cannot send more codes by ${window.channel} right now; retry in ${seconds} s`,
      "OTP_SEND_BUDGET_SPENT",
    );
  }

  /** Gives back the unit of a send that was not made. */
  function giveBack(window: SendBudgetWindow): Promise<void> {
    return giveBackSendBudget(deps.db, window);
  }

  return { windowOf, spent, giveBack };
}
