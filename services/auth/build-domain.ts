import { randomBytes } from "node:crypto";
import { createAccessTokenVerifier } from "../shared/auth/access-token.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logging.js";
import type { Runtime } from "../shared/runtime.js";
import type { AuthConfig } from "./config.js";
import type { OtpDelivery } from "./delivery/otp-delivery.js";
import { createAccessTokenIssuer } from "./domain/access-tokens.js";
import { createCleanupJob } from "./domain/cleanup.js";
import { createDeviceService } from "./domain/device-service.js";
import { createIdentifierLinking } from "./domain/identifier-linking.js";
import { keyMaterialFromPem } from "./domain/key-material.js";
import { createKeyRing } from "./domain/key-ring.js";
import { createLoginService } from "./domain/login-service.js";
import { createModerationReaction } from "./domain/moderation-reaction.js";
import { createOtpService } from "./domain/otp-service.js";
import { createOtpVerification } from "./domain/otp-verification.js";
import { createArgon2Hasher } from "./domain/password-hasher.js";
import { createPasswordLogin } from "./domain/password-login.js";
import { createPasswordService } from "./domain/password-service.js";
import { createRefreshService } from "./domain/refresh-service.js";
import { createSessionService } from "./domain/session-service.js";
import { createSessionStarter } from "./domain/session-starter.js";
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

  const keys = await createKeyRing({
    db,
    clock,
    logger: options.logger,
    accessTokenLifetimeMs: config.JWT_ACCESS_EXPIRATION,
    refreshIntervalMs: config.JWT_KEY_REFRESH_INTERVAL,
    configuredKey: config.JWT_PRIVATE_KEY ? keyMaterialFromPem(config.JWT_PRIVATE_KEY) : undefined,
  });
  const accessTokens = createAccessTokenIssuer({
    keys,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    lifetimeMs: config.JWT_ACCESS_EXPIRATION,
    adminIdentifiers: config.adminIdentifiers,
  });

  const sessions = createSessionStarter({ clock, accessTokens, refreshTokenLifetimeMs: config.JWT_REFRESH_EXPIRATION });
  const login = createLoginService({ transact, clock, sessions });
  const refresh = createRefreshService({
    transact,
    clock,
    accessTokens,
    refreshTokenLifetimeMs: config.JWT_REFRESH_EXPIRATION,
    reuseGraceMs: config.REFRESH_TOKEN_REUSE_GRACE,
  });

  // Passwords, devices, identifiers and the reaction to moderation (issue 3 devices/passwords, issue 4).
  const hasher = await createArgon2Hasher();
  const passwords = createPasswordService({ db, transact, clock, hasher });
  const passwordLogin = createPasswordLogin({
    transact,
    clock,
    hasher,
    sessions,
    lockout: {
      threshold: config.PASSWORD_LOCKOUT_THRESHOLD,
      baseDelayMs: config.PASSWORD_LOCKOUT_BASE,
      maxDelayMs: config.PASSWORD_LOCKOUT_MAX,
      forgetAfterMs: day,
    },
    ipLimit: { windowMs: config.PASSWORD_IP_WINDOW, maxFailures: config.PASSWORD_IP_MAX_FAILURES },
    defaultPhoneRegion: config.DEFAULT_PHONE_REGION,
  });
  const devices = createDeviceService({ db, transact, clock });
  const identifierLinking = createIdentifierLinking({ transact, clock });
  const moderation = createModerationReaction({ transact, clock, logger: options.logger });

  const verifier = createAccessTokenVerifier({ keys: keys.verificationKey, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });
  const sessionService = createSessionService({ db, transact, clock, verifier });

  const cleanup = createCleanupJob({
    db,
    clock,
    logger: options.logger,
    intervalMs: config.CLEANUP_INTERVAL,
    batchSize: config.CLEANUP_BATCH_SIZE,
    rateLimitWindowMs: Math.max(config.OTP_RATE_LIMIT_WINDOW_MINUTES * 60_000, config.PASSWORD_IP_WINDOW),
    failureMemoryMs: day,
    refreshGraceMs: config.REFRESH_TOKEN_REUSE_GRACE,
    accessTokenLifetimeMs: config.JWT_ACCESS_EXPIRATION,
    sessionRetentionMs: config.SESSION_RETENTION,
  });
  cleanup.start();

  return {
    otp,
    otpVerification,
    keys,
    accessTokens,
    sessions,
    login,
    refresh,
    verifier,
    sessionService,
    cleanup,
    passwords,
    passwordLogin,
    devices,
    identifierLinking,
    moderation,
    /** Stops background work (key reloads, cleanup), waiting for a cleanup run in progress. */
    async close() {
      keys.close();
      await cleanup.stop();
    },
  };
}

export type AuthDomain = Awaited<ReturnType<typeof buildAuthDomain>>;
