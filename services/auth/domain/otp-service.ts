import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { RateLimitedError } from "../../shared/errors/domain-errors.js";
import { normalizeIdentifier, type IdentifierType } from "../../shared/identifiers.js";
import type { Transact } from "../../shared/outbox/transact.js";
import type { OtpDelivery } from "../delivery/otp-delivery.js";
import { otpSentEvent } from "../events/auth-events.js";
import { insertOtpCode, startOtpSend } from "../store/otp-store.js";
import type { AuthDatabase } from "../store/schema.js";
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
  db: Kysely<AuthDatabase>;
  transact: Transact<AuthDatabase>;
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
    // The global budget is taken only by a send the per-identifier and per-network limits let
    // through, after their transaction: refused or queued requests never hold a unit, so a flood
    // that those limits stop cannot spend (or hold) the budget everyone shares.
    const counted = await countSend(input, identifier, now);
    const giveBack = await deps.budget.take(otpChannelOf(input.identifierType), now);
    try {
      return await issue(input, identifier, now, counted);
    } catch (error) {
      // Best effort: if the give-back fails too, the budget counts one send too many (fails closed).
      await giveBack().catch(() => undefined);
      throw error;
    }
  }

  /**
   * One statement counts the send on the identifier and the IP (in that order, in every
   * transaction) and finds the holder; a refusal rolls it back. A send counted here that the budget
   * or the delivery then refuses stays counted (fails closed).
   */
  async function countSend(input: SendOtpInput, identifier: string, now: Date) {
    return deps.transact(async (trx) => {
      const { byIdentifier, byIp, holderUserId } = await startOtpSend(trx, {
        identifier,
        identifierKey: `otp-send:identifier:${identifier}`,
        ipKey: `otp-send:ip:${clientNetwork(input.ip)}`,
        now,
        windowMs: limits.sendWindowMs,
      });
      if (byIdentifier.count > limits.maxSendsPerIdentifier) {
        throw rateLimited(byIdentifier.oldest, now, "too many codes were requested for this identifier");
      }
      if (byIp && byIp.count > limits.maxSendsPerIp) {
        throw rateLimited(byIp.oldest, now, "too many codes were requested from this network");
      }
      return { byIdentifier, holderUserId };
    });
  }

  async function issue(
    input: SendOtpInput,
    identifier: string,
    now: Date,
    { byIdentifier, holderUserId }: Awaited<ReturnType<typeof countSend>>,
  ): Promise<SendOtpResult> {
    return deps.transact(async (trx) => {
      const id = randomUUID();
      const code = generateOtpCode();
      const challenge = newOpaqueToken("challenge");
      const expiresAt = new Date(now.getTime() + limits.codeLifetimeMs);
      await insertOtpCode(
        trx,
        {
          id,
          identifier,
          identifierType: input.identifierType,
          purpose: input.purpose,
          codeHash: hashOtpCode(deps.hashKey, identifier, input.purpose, code),
          createdAt: now,
          expiresAt,
          deviceId: input.deviceId || null,
          ipAddress: input.ip || null,
          challengeHash: challenge.hash,
        },
        [
          otpSentEvent(now, {
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
      );
      await deps.delivery.deliver({
        otpId: id,
        identifierType: input.identifierType,
        identifier,
        code,
        purpose: input.purpose,
        expiresAt,
      });

      const resendAvailableAt =
        byIdentifier.count >= limits.maxSendsPerIdentifier
          ? new Date(byIdentifier.oldest.getTime() + limits.sendWindowMs)
          : now;
      return { expiresAt, resendAvailableAt, challengeId: challenge.token };
    });
  }

  function rateLimited(oldest: Date, now: Date, what: string): RateLimitedError {
    const retryAfterMs = oldest.getTime() + limits.sendWindowMs - now.getTime();
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new RateLimitedError(retryAfterMs, `${what}; retry in ${seconds} s`, "OTP_SEND_RATE_LIMITED");
  }

  return { send };
}
