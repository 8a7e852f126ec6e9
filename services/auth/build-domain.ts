import { randomBytes } from "node:crypto";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logging.js";
import type { Runtime } from "../shared/runtime.js";
import type { AuthConfig } from "./config.js";
import type { OtpDelivery } from "./delivery/otp-delivery.js";
import { createOtpService } from "./domain/otp-service.js";
import { createOtpVerification } from "./domain/otp-verification.js";
import type { AuthDatabase } from "./store/schema.js";
import { getOrCreateSecret } from "./store/secret-store.js";

const day = 86_400_000;

/**
 * Builds the auth service's domain services from its configuration: the one place that turns
 * settings into explicit dependencies. app.ts serves them; tests reach them through the RPCs.
 */
export async function buildAuthDomain(
  config: AuthConfig,
  runtime: Runtime<AuthDatabase>,
  options: { clock: Clock; delivery: OtpDelivery; logger: Logger },
) {
  const { clock } = options;
  const { db, transact } = runtime;
  const hashKey = config.OTP_HASH_SECRET
    ? Buffer.from(config.OTP_HASH_SECRET)
    : await getOrCreateSecret(db, "otp-hash-key", () => randomBytes(32));

  const otp = createOtpService({
    db,
    transact,
    clock,
    delivery: options.delivery,
    hashKey,
    defaultPhoneRegion: config.DEFAULT_PHONE_REGION,
    limits: {
      codeLifetimeMs: config.OTP_EXPIRATION_MINUTES * 60_000,
      maxAttempts: config.OTP_MAX_ATTEMPTS,
      sendWindowMs: config.OTP_RATE_LIMIT_WINDOW_MINUTES * 60_000,
      maxSendsPerIdentifier: config.OTP_RATE_LIMIT_MAX_REQUESTS,
      maxSendsPerIp: config.OTP_IP_RATE_LIMIT_MAX_REQUESTS,
    },
  });

  const otpVerification = createOtpVerification({
    transact,
    clock,
    hashKey,
    maxAttempts: config.OTP_MAX_ATTEMPTS,
    lockout: {
      threshold: config.OTP_LOCKOUT_THRESHOLD,
      baseDelayMs: config.OTP_LOCKOUT_BASE,
      maxDelayMs: config.OTP_LOCKOUT_MAX,
      forgetAfterMs: day,
    },
    verificationTokenLifetimeMs: config.VERIFICATION_TOKEN_EXPIRATION,
    defaultPhoneRegion: config.DEFAULT_PHONE_REGION,
  });

  return { otp, otpVerification };
}

export type AuthDomain = Awaited<ReturnType<typeof buildAuthDomain>>;
