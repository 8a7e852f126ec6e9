import { randomBytes } from "node:crypto";
import { createAccessTokenVerifier } from "../shared/auth/access-token.js";
import { createRevocationList } from "../shared/auth/revocation-list.js";
import { systemClock, type Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logging.js";
import type { Runtime } from "../shared/runtime.js";
import type { AuthConfig } from "./config.js";
import type { OtpDelivery } from "./delivery/otp-delivery.js";
import { createAccessTokenIssuer } from "./domain/access-tokens.js";
import { createCleanupJob } from "./domain/cleanup.js";
import { createClientCredentialsGrant } from "./domain/client-credentials.js";
import { createDeviceService } from "./domain/device-service.js";
import { createIdentifierLinking } from "./domain/identifier-linking.js";
import { createIdentifierReplacement } from "./domain/identifier-replacement.js";
import { keyMaterialFromPem } from "./domain/key-material.js";
import { createKeyRing } from "./domain/key-ring.js";
import { createKeyVault, secretContext } from "./domain/key-vault.js";
import { createLoginService } from "./domain/login-service.js";
import { createModerationReaction } from "./domain/moderation-reaction.js";
import { createOtpSendBudget } from "./domain/otp-send-budget.js";
import { createOtpService } from "./domain/otp-service.js";
import { createOtpVerification } from "./domain/otp-verification.js";
import { createArgon2Hasher } from "./domain/password-hasher.js";
import { createPasswordLogin } from "./domain/password-login.js";
import { createPasswordService } from "./domain/password-service.js";
import { createRefreshService } from "./domain/refresh-service.js";
import { resealStoredKeys } from "./domain/reseal-stored-keys.js";
import { createRevocationAwareness } from "./domain/revocation-awareness.js";
import { createSessionService } from "./domain/session-service.js";
import { createSessionRevoker } from "./domain/session-revocation.js";
import { createSessionStarter } from "./domain/session-starter.js";
import { createServiceAccounts } from "./domain/service-accounts.js";
import { createServiceTokenIssuer } from "./domain/service-tokens.js";
import { createStepUp } from "./domain/step-up.js";
import type { AuthDatabase } from "./store/schema.js";
import { getOrCreateSecret } from "./store/secret-store.js";

const day = 86_400_000;
/** The verifier's default clock tolerance: it accepts a token this long after its expiry. */
const verifierToleranceMs = 5_000;
/**
 * How long an RPC that revoked sessions waits for its auth.session.revoked to come back through the
 * stream (then every instance following it has been sent it): a revoked session's tokens are refused
 * everywhere within a second (docs/product.md, "Tokens and sessions").
 */
const revocationPropagationWaitMs = 1_000;

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
  const { db, transact, wakeRelay } = runtime;

  // Keys generated here and kept in the database are sealed under KEY_ENCRYPTION_KEY (key-vault.ts);
  // rows from before it (or under the previous KEK) are sealed again first. Without a KEK they are
  // stored in the clear, which config.ts allows outside production only.
  const vault = createKeyVault(config.keyEncryptionKeys);
  const keepsKeys = !config.JWT_PRIVATE_KEY || !config.OTP_HASH_SECRET;
  if (vault.kekId || keepsKeys) await resealStoredKeys(db, vault, options.logger);
  if (!vault.kekId && keepsKeys) {
    options.logger.warn(
      "KEY_ENCRYPTION_KEY is unset: the generated signing key and OTP key are stored in the database unencrypted (development only)",
    );
  }
  const hashKey = config.OTP_HASH_SECRET
    ? Buffer.from(config.OTP_HASH_SECRET)
    : vault.open(
        secretContext("otp-hash-key"),
        await getOrCreateSecret(db, "otp-hash-key", () => vault.seal(secretContext("otp-hash-key"), randomBytes(32))),
      );

  const otp = createOtpService({
    db,
    afterCommit: wakeRelay,
    clock,
    delivery: options.delivery,
    hashKey,
    budget: createOtpSendBudget({
      db,
      policy: { sendsPerWindow: config.OTP_GLOBAL_SEND_BUDGET, windowMs: config.OTP_GLOBAL_SEND_BUDGET_WINDOW },
      onSpent: (channel) => runtime.metrics.otpSendBudgetRefusals.inc({ channel }),
    }),
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
    db,
    transact,
    afterCommit: wakeRelay,
    clock,
    hashKey,
    maxAttempts: config.OTP_MAX_ATTEMPTS,
    lockout: {
      threshold: config.OTP_LOCKOUT_THRESHOLD,
      baseDelayMs: config.OTP_LOCKOUT_BASE,
      maxDelayMs: config.OTP_LOCKOUT_MAX,
      forgetAfterMs: day,
    },
    unboundGuesses: {
      maxFailures: config.OTP_MAX_ATTEMPTS,
      windowMs: config.OTP_RATE_LIMIT_WINDOW_MINUTES * 60_000,
    },
    verificationTokenLifetimeMs: config.VERIFICATION_TOKEN_EXPIRATION,
    defaultPhoneRegion: config.DEFAULT_PHONE_REGION,
    onIdentifierLocked: () => runtime.metrics.otpIdentifierLocks.inc(),
  });

  const keys = await createKeyRing({
    db,
    clock,
    logger: options.logger,
    accessTokenLifetimeMs: config.JWT_ACCESS_EXPIRATION,
    refreshIntervalMs: config.JWT_KEY_REFRESH_INTERVAL,
    configuredKey: config.JWT_PRIVATE_KEY ? keyMaterialFromPem(config.JWT_PRIVATE_KEY) : undefined,
    vault,
    onReloadRefused: () => runtime.metrics.signingKeyReloadsRefused.inc(),
    rotation: config.JWT_KEY_ROTATION_INTERVAL
      ? { intervalMs: config.JWT_KEY_ROTATION_INTERVAL, activationDelayMs: config.JWT_KEY_ACTIVATION_DELAY }
      : undefined,
  });
  const accessTokens = createAccessTokenIssuer({
    keys,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    lifetimeMs: config.JWT_ACCESS_EXPIRATION,
    adminIdentifiers: config.adminIdentifiers,
  });

  // Which sessions are revoked, known from auth.session.revoked (see revocation-awareness.ts). The
  // list runs on the system clock, as the verifier does: an entry lives exactly as long as a token
  // of its session can still verify. Sessions outlive their access tokens unless the refresh
  // lifetime is configured shorter than the access lifetime; then only the database knows.
  const sessionsOutliveTokens = config.JWT_REFRESH_EXPIRATION >= config.JWT_ACCESS_EXPIRATION;
  const revocationFeed =
    runtime.nats && sessionsOutliveTokens
      ? createRevocationList({
          nats: runtime.nats,
          logger: options.logger,
          lookbackMs: config.JWT_ACCESS_EXPIRATION + verifierToleranceMs,
          retainAfterExpiryMs: verifierToleranceMs,
          clock: systemClock,
        })
      : undefined;
  const nats = runtime.nats;
  const revocations = createRevocationAwareness({
    db,
    clock,
    logger: options.logger,
    feed: revocationFeed,
    feedConnected: () => nats?.isConnected() ?? false,
    propagationWaitMs: revocationPropagationWaitMs,
  });
  const revoker = createSessionRevoker({ afterCommit: revocations.afterRevoked });

  const lifetime = { refreshTokenLifetimeMs: config.JWT_REFRESH_EXPIRATION, maxAgeMs: config.SESSION_MAX_AGE };
  const sessions = createSessionStarter({ clock, accessTokens, lifetime, riskPolicy: config.loginRiskPolicy });
  const login = createLoginService({ transact, clock, sessions });
  const refresh = createRefreshService({
    db,
    transact,
    afterCommit: wakeRelay,
    revoker,
    clock,
    accessTokens,
    lifetime,
    reuseGraceMs: config.REFRESH_TOKEN_REUSE_GRACE,
  });

  // Passwords, devices, identifiers and the reaction to moderation.
  const hasher = await createArgon2Hasher();
  const { stepUpMaxAgeSeconds } = config;
  const passwords = createPasswordService({ db, transact, revoker, clock, hasher, stepUpMaxAgeSeconds });
  const passwordLockout = {
    threshold: config.PASSWORD_LOCKOUT_THRESHOLD,
    baseDelayMs: config.PASSWORD_LOCKOUT_BASE,
    maxDelayMs: config.PASSWORD_LOCKOUT_MAX,
    forgetAfterMs: day,
  };
  const passwordLogin = createPasswordLogin({
    transact,
    clock,
    hasher,
    sessions,
    lockout: passwordLockout,
    ipLimit: { windowMs: config.PASSWORD_IP_WINDOW, maxFailures: config.PASSWORD_IP_MAX_FAILURES },
    defaultPhoneRegion: config.DEFAULT_PHONE_REGION,
  });
  const stepUp = createStepUp({ transact, clock, hasher, accessTokens, lockout: passwordLockout });
  const devices = createDeviceService({ db, transact, revoker, clock, stepUpMaxAgeSeconds });
  const identifierLinking = createIdentifierLinking({ transact, clock, stepUpMaxAgeSeconds });
  const identifierReplacement = createIdentifierReplacement({ transact, clock, stepUpMaxAgeSeconds });
  const moderation = createModerationReaction({ transact, revoker, clock, logger: options.logger });

  // Service accounts: the operators' command manages them; the client credentials grant (POST
  // /oauth2/token, IssueServiceToken) signs their tokens with the same key ring.
  const serviceAccounts = createServiceAccounts({ db, transact, clock, logger: options.logger });
  const clientCredentials = createClientCredentialsGrant({
    transact,
    clock,
    tokens: createServiceTokenIssuer({
      keys,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      lifetimeMs: config.SERVICE_TOKEN_EXPIRATION,
    }),
    lockout: {
      threshold: config.CLIENT_AUTH_LOCKOUT_THRESHOLD,
      baseDelayMs: config.CLIENT_AUTH_LOCKOUT_BASE,
      maxDelayMs: config.CLIENT_AUTH_LOCKOUT_MAX,
      forgetAfterMs: day,
    },
    ipLimit: { windowMs: config.CLIENT_AUTH_IP_WINDOW, maxFailures: config.CLIENT_AUTH_IP_MAX_FAILURES },
    onFailure: (reason) => runtime.metrics.clientAuthFailures.inc({ reason }),
  });

  const verifier = createAccessTokenVerifier({
    keys: keys.verificationKey,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    clock,
  });
  const sessionService = createSessionService({
    db,
    transact,
    clock,
    stepUpMaxAgeSeconds,
    verifier,
    revoker,
    isSessionRevoked: revocations.isSessionRevoked,
  });

  const cleanup = createCleanupJob({
    db,
    clock,
    logger: options.logger,
    intervalMs: config.CLEANUP_INTERVAL,
    batchSize: config.CLEANUP_BATCH_SIZE,
    rateLimitWindowMs: Math.max(
      config.OTP_RATE_LIMIT_WINDOW_MINUTES * 60_000,
      config.PASSWORD_IP_WINDOW,
      config.CLIENT_AUTH_IP_WINDOW,
    ),
    sendBudgetWindowMs: config.OTP_GLOBAL_SEND_BUDGET_WINDOW,
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
    identifierReplacement,
    stepUp,
    moderation,
    serviceAccounts,
    clientCredentials,
    /** The revocations this instance follows (undefined without NATS): for operations and tests. */
    revocationFeed,
    /** Stops background work (key reloads, cleanup, the revocation feed), waiting for a cleanup run in progress. */
    async close() {
      keys.close();
      await cleanup.stop();
      await revocationFeed?.close();
    },
  };
}

export type AuthDomain = Awaited<ReturnType<typeof buildAuthDomain>>;
