import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { withConnectionTime } from "../../shared/database/connection-time.js";
import { RateLimitedError } from "../../shared/errors/domain-errors.js";
import { normalizeIdentifier, type IdentifierType } from "../../shared/identifiers.js";
import type { OtpDelivery } from "../delivery/otp-delivery.js";
import { otpSentEvent } from "../events/auth-events.js";
import { insertOtpCode, startOtpSend, type OtpSendCounted } from "../store/otp-store.js";
import type { AuthDatabase } from "../store/schema.js";
import type { SendBudgetWindow } from "../store/send-budget-store.js";
import { clientNetwork } from "../../shared/client-network.js";
import { newOpaqueToken } from "./opaque-tokens.js";
import { generateOtpCode, hashOtpCode } from "./otp-codes.js";
import type { OtpPurpose } from "./otp-purpose.js";
import { otpChannelOf, type OtpSendBudget } from "./otp-send-budget.js";

export interface OtpLimits {
  codeLifetimeMs: number;
  maxAttempts: number;
  sendWindowMs: number;
  maxSendsPerIdentifier: number;
  maxSendsPerIp: number;
}

export interface OtpServiceDeps {
  /** For SendOtp's two autocommit statements: count the send, then store the code. */
  db: Kysely<AuthDatabase>;
  /** Wakes the outbox relay after the code's autocommit statement recorded auth.otp.sent. */
  afterCommit: () => void;
  clock: Clock;
  delivery: OtpDelivery;
  /** HMAC key the codes are stored under. */
  hashKey: Uint8Array;
  limits: OtpLimits;
  budget: OtpSendBudget;
  defaultPhoneRegion?: string;
}

export interface SendOtpInput {
  identifierType: IdentifierType;
  identifier: string;
  purpose: OtpPurpose;
  deviceId: string;
  ip: string;
  userAgent: string;
}

export interface SendOtpResult {
  expiresAt: Date;
  /** When another code may be asked for without being refused. */
  resendAvailableAt: Date;
  /** Names this code for VerifyOtp; only its hash is stored. */
  challengeId: string;
}

export type OtpService = ReturnType<typeof createOtpService>;

export function createOtpService(deps: OtpServiceDeps) {
  const { clock, limits } = deps;

  /**
   * Issues a code. The answer never depends on whether an account exists (the holder is looked up
   * for every identifier, only to name it in auth.otp.sent), so SendOtp cannot be used to find out
   * who is a customer. Per-IP limits count the client's network (client-network.ts).
   */
  async function send(input: SendOtpInput): Promise<SendOtpResult> {
    const identifier = normalizeIdentifier(input.identifierType, input.identifier, deps.defaultPhoneRegion);
    const now = clock.now();
    const budget = deps.budget.windowOf(otpChannelOf(input.identifierType), now);
    const counted = await countSend(input, identifier, now, budget);
    if (!counted.budgetTaken) throw deps.budget.spent(budget, now);
    return issue(input, identifier, now, counted, async () => {
      // Best effort: if the give-back fails too, the budget counts one send too many (fails closed).
      await deps.budget.giveBack(budget).catch(() => undefined);
    });
  }

  /**
   * Counts the send against the identifier and the client's network, takes its unit of the global
   * budget if both let it through, and finds the holder, in one statement (otp-store.ts's
   * startOtpSend). A send either limit refuses counts nowhere. A send the budget refuses stays
   * counted, as does one the delivery then refuses (fails closed).
   */
  async function countSend(input: SendOtpInput, identifier: string, now: Date, budget: SendBudgetWindow) {
    const start = await startOtpSend(deps.db, {
      identifier,
      identifierKey: `otp-send:identifier:${identifier}`,
      ipKey: `otp-send:ip:${clientNetwork(input.ip)}`,
      now,
      windowMs: limits.sendWindowMs,
      maxSendsPerIdentifier: limits.maxSendsPerIdentifier,
      maxSendsPerIp: limits.maxSendsPerIp,
      budget,
    });
    if (start.counted) return start;
    throw start.refusedBy === "identifier"
      ? rateLimited(start.oldest, now, "too many codes were requested for this identifier")
      : rateLimited(start.oldest, now, "too many codes were requested from this network");
  }

  /**
   * Delivers the code, then stores it with auth.otp.sent in one autocommit statement: the code is
   * stored (and announced) only once it is on its way, and a failed delivery leaves nothing behind.
   * The code becomes usable a round trip after the delivery accepted it, as it did when the store
   * was a transaction committed after the delivery; a store that fails after the delivery leaves a
   * delivered code that checks as no code (fails closed; the person asks for another).
   * `undelivered` runs only when the delivery refused the code: a code that went out keeps its unit
   * of the global budget even if storing it fails, or failing stores would let sends past the budget.
   */
  async function issue(
    input: SendOtpInput,
    identifier: string,
    now: Date,
    { byIdentifier, holderUserId }: OtpSendCounted,
    undelivered: () => Promise<void>,
  ): Promise<SendOtpResult> {
    const id = randomUUID();
    const code = generateOtpCode();
    const challenge = newOpaqueToken("challenge");
    const expiresAt = new Date(now.getTime() + limits.codeLifetimeMs);
    const codeHash = hashOtpCode(deps.hashKey, identifier, input.purpose, code);
    try {
      await deps.delivery.deliver({
        otpId: id,
        identifierType: input.identifierType,
        identifier,
        code,
        purpose: input.purpose,
        expiresAt,
      });
    } catch (error) {
      await undelivered();
      throw error;
    }
    // auth.otp.sent is dated when the code is stored (an event's occurred_at is when its change
    // committed), not at the request, a transaction and a delivery earlier. The record itself keeps the
    // request's time, from which its lifetime counts: an identifier's codes are newest by request,
    // the order their expiries keep (liveCodeOf picks the newest for a guess without a challenge).
    await withConnectionTime(deps.db, clock, (connection, storedAt) =>
      insertOtpCode(
        connection,
        {
          id,
          identifier,
          identifierType: input.identifierType,
          purpose: input.purpose,
          codeHash,
          createdAt: now,
          expiresAt,
          deviceId: input.deviceId || null,
          ipAddress: input.ip || null,
          challengeHash: challenge.hash,
        },
        [
          otpSentEvent(storedAt, {
            otpId: id,
            userId: holderUserId,
            identifierType: input.identifierType,
            identifier,
            purpose: input.purpose,
            deviceId: input.deviceId,
            ip: input.ip,
            userAgent: input.userAgent,
            expiresAt,
          }),
        ],
      ),
    );
    deps.afterCommit();

    const resendAvailableAt =
      byIdentifier.count >= limits.maxSendsPerIdentifier
        ? new Date(byIdentifier.oldest.getTime() + limits.sendWindowMs)
        : now;
    return { expiresAt, resendAvailableAt, challengeId: challenge.token };
  }

  function rateLimited(oldest: Date, now: Date, what: string): RateLimitedError {
    const retryAfterMs = oldest.getTime() + limits.sendWindowMs - now.getTime();
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new RateLimitedError(retryAfterMs, `${what}; retry in ${seconds} s`, "OTP_SEND_RATE_LIMITED");
  }

  return { send };
}
