import type { Kysely } from "kysely";
import { RateLimitedError } from "../../shared/errors/domain-errors.js";
import { giveBackSendBudget, takeSendBudget } from "../store/send-budget-store.js";
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
 * A send takes its unit only after the per-identifier and per-network limits let it through (their
 * transaction has ended), and gives it back when it is not made (undeliverable): requests those
 * limits refuse, or that wait on them, never spend or hold a unit, so a flood they stop cannot turn
 * the budget into an off switch. When the budget is spent
 * SendOtp is refused for everyone with the time the window ends: fail closed, and loudly
 * (`onSpent`, a metric operators are alerted on).
 */
export function createOtpSendBudget(deps: {
  db: Kysely<AuthDatabase>;
  policy: SendBudgetPolicy;
  onSpent?: (channel: OtpChannel) => void;
}) {
  const { policy } = deps;

  /** Takes one send of `channel` at `now`; returns how to give it back. Throws when spent. */
  async function take(channel: OtpChannel, now: Date): Promise<() => Promise<void>> {
    const windowStart = new Date(Math.floor(now.getTime() / policy.windowMs) * policy.windowMs);
    const taken = await takeSendBudget(deps.db, { channel, windowStart, budget: policy.sendsPerWindow });
    if (!taken) {
      deps.onSpent?.(channel);
      const retryAfterMs = windowStart.getTime() + policy.windowMs - now.getTime();
      const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
      throw new RateLimitedError(
        retryAfterMs,
        `the service cannot send more codes by ${channel} right now; retry in ${seconds} s`,
        "OTP_SEND_BUDGET_SPENT",
      );
    }
    return () => giveBackSendBudget(deps.db, { channel, windowStart });
  }

  return { take };
}
