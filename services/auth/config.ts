import { z } from "zod";
import { databaseUrlFor, commonEnv } from "../shared/config/common.js";
import {
  ConfigError,
  duration,
  list,
  optionalPort,
  optionalUrl,
  parseEnv,
  port,
  positiveInt,
} from "../shared/config/env.js";
import { metricsPort } from "../shared/metrics/metrics-port.js";
import { adminIdentifiersFrom } from "./domain/admin-identifiers.js";
import { parseKeyEncryptionKey } from "./domain/key-encryption.js";
import { keyMaterialFromPem } from "./domain/key-material.js";
import { leastActivationDelayMs } from "./domain/key-rotation.js";
import type { KeyEncryptionKeys } from "./domain/key-vault.js";
import { riskActions, type LoginRiskPolicy, type RiskAction } from "./domain/login-risk.js";

/** What a suspicious-login signal does: allow (flag only), step_up or refuse (domain/login-risk.ts). */
const riskAction = (defaultValue: RiskAction) => z.enum(riskActions).default(defaultValue);

const authEnv = {
  ...commonEnv,
  AUTH_PORT: port(50051),
  // A second port for internal gRPC callers, served by @grpc/grpc-js (same RPCs, checks and errors,
  // a fraction of the CPU per call; no Connect, gRPC-Web, CORS or streaming). Unset: off.
  AUTH_GRPC_JS_PORT: optionalPort(),
  AUTH_METRICS_PORT: metricsPort(9464),
  AUTH_DATABASE_URL: optionalUrl,
  JWT_ACCESS_EXPIRATION: duration("15m"),
  JWT_REFRESH_EXPIRATION: duration("7d"),
  // The absolute end of a session, however often it is refreshed (RFC 9700, section 4.14.2): past
  // it RefreshToken refuses and the person signs in again. Refresh and access tokens never outlive it.
  SESSION_MAX_AGE: duration("30d").refine((ms) => ms > 0, "expected a duration longer than 0"),
  // A refresh retried this soon with the token it just rotated (a lost response) gets the same new
  // pair instead of a reuse alarm that signs the session out.
  REFRESH_TOKEN_REUSE_GRACE: duration("10s"),
  // PKCS#8 PEM of an Ed25519 or P-256 key. Without it, a key is generated once and kept in the database.
  JWT_PRIVATE_KEY: z
    .string()
    .optional()
    .superRefine((pem, ctx) => {
      if (pem === undefined) return;
      try {
        keyMaterialFromPem(pem);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message.replace(/^JWT_PRIVATE_KEY: /, "") });
      }
    }),
  // How often each instance re-reads the signing keys (to follow a rotation made elsewhere).
  JWT_KEY_REFRESH_INTERVAL: duration("30s"),
  // How long each database-kept signing key signs before its successor takes over; "off": only
  // `npm run rotate-signing-key` rotates. Does not apply to JWT_PRIVATE_KEY (the operator rotates it).
  JWT_KEY_ROTATION_INTERVAL: z
    .union([z.literal("off"), duration("30d")], { error: 'expected a duration like "30d", or "off"' })
    .transform((value) => (value === "off" ? undefined : value)),
  // How long a new key is published in the JWKS before it signs (scheduled rotations, and the
  // rotation command's default), so every verifier has it before its first token.
  JWT_KEY_ACTIVATION_DELAY: duration("10m"),
  OTP_EXPIRATION_MINUTES: positiveInt(5),
  OTP_MAX_ATTEMPTS: positiveInt(3),
  OTP_RATE_LIMIT_WINDOW_MINUTES: positiveInt(15),
  OTP_RATE_LIMIT_MAX_REQUESTS: positiveInt(3),
  OTP_IP_RATE_LIMIT_MAX_REQUESTS: positiveInt(30),
  // How codes leave the service: "nats" (a request to the notification service) or "log" (a
  // developer's machine). Unset: nats with NATS_URL; log only for the embedded development setup
  // (no NATS_URL and no database URL); anything else must choose (otpDeliveryFrom).
  OTP_DELIVERY: z.enum(["log", "nats"]).optional(),
  // Key for the HMAC that one-time codes are stored under. Without it, one is generated once and
  // kept in the database; set it to keep codes unreadable to someone holding only a database dump.
  OTP_HASH_SECRET: z.string().min(32, "use at least 32 characters").optional(),
  // Region used for phone numbers written without a leading "+", e.g. "GB". Unset: "+" required.
  DEFAULT_PHONE_REGION: z.string().length(2).toUpperCase().optional(),
  // Identifiers (E.164 phones, emails) whose users get the "admin" role in their access tokens.
  ADMIN_IDENTIFIERS: list(),
  // Codes sent per channel (sms, email) in each OTP_GLOBAL_SEND_BUDGET_WINDOW, across every
  // instance: the cap on what SMS pumping can cost. Size it to about twice the busiest window.
  OTP_GLOBAL_SEND_BUDGET: positiveInt(1000),
  OTP_GLOBAL_SEND_BUDGET_WINDOW: duration("1h").refine((ms) => ms > 0, "must be longer than 0"),
  // Wrong codes per identifier (across codes and purposes) before VerifyOtp locks it; each
  // further wrong code doubles the lock, from OTP_LOCKOUT_BASE up to OTP_LOCKOUT_MAX. Far above
  // what a person mistyping reaches: guesses are bound to each code's challenge, and the lock
  // also keeps the owner out, so it is only a backstop against sustained guessing.
  OTP_LOCKOUT_THRESHOLD: positiveInt(100),
  OTP_LOCKOUT_BASE: duration("1m"),
  OTP_LOCKOUT_MAX: duration("1h"),
  // Lifetime of the single-use token VerifyOtp returns.
  VERIFICATION_TOKEN_EXPIRATION: duration("5m"),
  // Wrong passwords per identifier (known or not) before LoginWithPassword locks it; each further
  // wrong password doubles the lock, from PASSWORD_LOCKOUT_BASE up to PASSWORD_LOCKOUT_MAX. Kept
  // apart from the code lockout, so password guessing never blocks signing in with a code.
  PASSWORD_LOCKOUT_THRESHOLD: positiveInt(5),
  PASSWORD_LOCKOUT_BASE: duration("1m"),
  PASSWORD_LOCKOUT_MAX: duration("1h"),
  // Wrong passwords per client IP, across identifiers, within a sliding PASSWORD_IP_WINDOW.
  PASSWORD_IP_MAX_FAILURES: positiveInt(50),
  PASSWORD_IP_WINDOW: duration("15m"),
  // Background cleanup of expired codes, tokens, idle limits and long-ended sessions.
  CLEANUP_INTERVAL: duration("1m"),
  CLEANUP_BATCH_SIZE: positiveInt(500),
  // How long ended sessions are kept (the "new IP" sign-in check looks at them).
  SESSION_RETENTION: duration("30d"),
  // How recent the last sign-in or StepUp must be for the sensitive RPCs (TrustDevice, SetPassword,
  // LinkIdentifier, ReplaceIdentifier). Whole seconds, from 1 s to a day.
  STEP_UP_MAX_AGE: duration("5m").refine((ms) => ms >= 1_000 && ms <= 86_400_000 && ms % 1_000 === 0, {
    message: "use whole seconds from 1s to 24h",
  }),
  // What each suspicious-login signal does to a sign-in: allow (flag it on auth.login), step_up
  // (sign in, but sensitive actions need a StepUp first) or refuse.
  LOGIN_RISK_NEW_DEVICE: riskAction("step_up"),
  LOGIN_RISK_NEW_IP: riskAction("allow"),
  LOGIN_RISK_NEW_NETWORK: riskAction("allow"),
  LOGIN_RISK_RECENT_FAILURES: riskAction("step_up"),
  // Lifetime of service accounts' access tokens (client credentials grant). They have no session to
  // revoke, so this bounds a token after its account is disabled; at most JWT_ACCESS_EXPIRATION, the
  // time a rotated-out signing key stays published.
  SERVICE_TOKEN_EXPIRATION: duration("5m"),
  // Failed client authentications per client id and client address before the token endpoint locks
  // that pair; each further failure doubles the lock, from CLIENT_AUTH_LOCKOUT_BASE up to _MAX.
  CLIENT_AUTH_LOCKOUT_THRESHOLD: positiveInt(5),
  CLIENT_AUTH_LOCKOUT_BASE: duration("1m"),
  CLIENT_AUTH_LOCKOUT_MAX: duration("1h"),
  // Failed client authentications per client address, across client ids, within CLIENT_AUTH_IP_WINDOW.
  CLIENT_AUTH_IP_MAX_FAILURES: positiveInt(50),
  CLIENT_AUTH_IP_WINDOW: duration("15m"),
};

export type AuthConfig = ReturnType<typeof loadAuthConfig>;

export function loadAuthConfig(env: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv(authEnv, env);
  const problems = keyScheduleProblems(parsed);
  if (parsed.SERVICE_TOKEN_EXPIRATION > parsed.JWT_ACCESS_EXPIRATION) {
    problems.push(
      `SERVICE_TOKEN_EXPIRATION=${JSON.stringify(env.SERVICE_TOKEN_EXPIRATION ?? null)}: ` +
        "must not exceed JWT_ACCESS_EXPIRATION (a rotated-out key is published only that long)",
    );
  }
  const keyEncryptionKeys = readKeyEncryptionKeys(env, problems);
  const production = env.NODE_ENV === "production";
  if (production && !keyEncryptionKeys.current && (!parsed.JWT_PRIVATE_KEY || !parsed.OTP_HASH_SECRET)) {
    problems.push(
      "KEY_ENCRYPTION_KEY: required with NODE_ENV=production unless both JWT_PRIVATE_KEY and OTP_HASH_SECRET are set " +
        "(the keys generated in their place are kept in the database, and must not be kept there in the clear)",
    );
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  const databaseUrl = databaseUrlFor(parsed.AUTH_DATABASE_URL, parsed, "auth");
  return {
    ...parsed,
    keyEncryptionKeys,
    databaseUrl,
    otpDelivery: otpDeliveryFrom(parsed.OTP_DELIVERY, parsed.NATS_URL, databaseUrl),
    adminIdentifiers: adminIdentifiersFrom(parsed.ADMIN_IDENTIFIERS, parsed.DEFAULT_PHONE_REGION),
    stepUpMaxAgeSeconds: parsed.STEP_UP_MAX_AGE / 1_000,
    loginRiskPolicy: {
      new_device: parsed.LOGIN_RISK_NEW_DEVICE,
      new_ip: parsed.LOGIN_RISK_NEW_IP,
      new_network: parsed.LOGIN_RISK_NEW_NETWORK,
      recent_failures: parsed.LOGIN_RISK_RECENT_FAILURES,
    } satisfies LoginRiskPolicy,
  };
}

/**
 * Where codes go. A code in the log is a live credential in the hands of whoever reads the logs, so
 * the log is used only when chosen (OTP_DELIVERY=log) or on a developer's machine (no NATS, embedded
 * database), never because NATS is missing: OTP_DELIVERY=nats without NATS_URL stops the service.
 * Undefined means "not chosen": the service starts only if it is given a delivery of its own.
 */
function otpDeliveryFrom(
  chosen: "log" | "nats" | undefined,
  natsServers: readonly string[] | undefined,
  databaseUrl: string | undefined,
): "log" | "nats" | undefined {
  if (chosen === "nats" && !natsServers) {
    throw new ConfigError(
      "invalid configuration:\n  NATS_URL: required by OTP_DELIVERY=nats (codes are never written to the log instead)",
    );
  }
  if (chosen) return chosen;
  if (natsServers) return "nats";
  return databaseUrl ? undefined : "log";
}

function keyScheduleProblems(parsed: z.infer<z.ZodObject<typeof authEnv>>): string[] {
  const least = leastActivationDelayMs(parsed.JWT_KEY_REFRESH_INTERVAL);
  const problems: string[] = [];
  if (parsed.JWT_KEY_ACTIVATION_DELAY < least) {
    problems.push(
      `JWT_KEY_ACTIVATION_DELAY: must be at least JWT_KEY_REFRESH_INTERVAL plus the JWKS cache time of 300 s (${least / 1000} s here)`,
    );
  }
  const interval = parsed.JWT_KEY_ROTATION_INTERVAL;
  if (interval !== undefined && interval <= parsed.JWT_KEY_ACTIVATION_DELAY) {
    problems.push("JWT_KEY_ROTATION_INTERVAL: must be longer than JWT_KEY_ACTIVATION_DELAY (or off)");
  }
  return problems;
}

/**
 * KEY_ENCRYPTION_KEY and KEY_ENCRYPTION_KEY_PREVIOUS, read apart from the other settings because they
 * are secrets: a problem names the variable and never repeats its value. Empty is the same as unset.
 */
function readKeyEncryptionKeys(env: Record<string, string | undefined>, problems: string[]): KeyEncryptionKeys {
  const read = (name: string) => {
    const text = env[name];
    if (text === undefined || text.trim() === "") return undefined;
    try {
      return parseKeyEncryptionKey(text);
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const current = read("KEY_ENCRYPTION_KEY");
  const previous = read("KEY_ENCRYPTION_KEY_PREVIOUS");
  if (previous && (env.KEY_ENCRYPTION_KEY ?? "").trim() === "") {
    problems.push(
      "KEY_ENCRYPTION_KEY_PREVIOUS: set only while replacing KEY_ENCRYPTION_KEY, together with the new one",
    );
  }
  return { current, previous };
}
