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
import { keyMaterialFromPem } from "./domain/key-material.js";

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
};

export type AuthConfig = ReturnType<typeof loadAuthConfig>;

export function loadAuthConfig(env: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv(authEnv, env);
  const databaseUrl = databaseUrlFor(parsed.AUTH_DATABASE_URL, parsed, "auth");
  return {
    ...parsed,
    databaseUrl,
    otpDelivery: otpDeliveryFrom(parsed.OTP_DELIVERY, parsed.NATS_URL, databaseUrl),
    adminIdentifiers: adminIdentifiersFrom(parsed.ADMIN_IDENTIFIERS, parsed.DEFAULT_PHONE_REGION),
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
