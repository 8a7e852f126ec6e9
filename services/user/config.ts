import { z } from "zod";
import { databaseUrlFor, commonEnv } from "../shared/config/common.js";
import { duration, list, optionalPort, optionalUrl, parseEnv, port, positiveInt } from "../shared/config/env.js";
import { metricsPort } from "../shared/metrics/metrics-port.js";

const userEnv = {
  ...commonEnv,
  USER_PORT: port(50052),
  // A second port for internal gRPC callers, served by @grpc/grpc-js (see AUTH_GRPC_JS_PORT). Unset: off.
  USER_GRPC_JS_PORT: optionalPort(),
  USER_METRICS_PORT: metricsPort(9465),
  USER_DATABASE_URL: optionalUrl,
  // Where the auth service publishes its JWKS; the user service verifies access tokens locally with it.
  AUTH_JWKS_URL: z.url().default("http://127.0.0.1:50051/.well-known/jwks.json"),
  // The auth service's RPC port, asked (ValidateToken) whether a session is still active while the
  // revocation feed is not current. Unset: where AUTH_JWKS_URL points, without the JWKS path.
  AUTH_SERVICE_URL: optionalUrl,
  // Least time between two JWKS fetches when a token names an unknown key (jose's cooldown): a
  // flood of made-up `kid`s cannot turn into a flood of fetches.
  AUTH_JWKS_COOLDOWN: duration("30s"),
  // The access token lifetime (the auth service's setting): how far back revocations are re-read
  // when an instance starts.
  JWT_ACCESS_EXPIRATION: duration("15m"),
  // Region for phone numbers written without "+" in admin look-ups, e.g. "GB". Unset: "+" required.
  DEFAULT_PHONE_REGION: z.string().length(2).toUpperCase().optional(),
  // Usernames to reserve besides the built-in list (comma-separated).
  RESERVED_USERNAMES: list(),
  // Profiles each instance keeps for GetMe (0 = no cache), and the longest one is served. Needs
  // NATS: changes made through other instances reach the cache as user.* events.
  PROFILE_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
  PROFILE_CACHE_TTL: duration("60s"),
  // Public look-ups (GetUser, GetUserByUsername) without a valid token per client network (an IPv4
  // address or an IPv6 /64) within a sliding window, counted by each instance in memory.
  PUBLIC_LOOKUP_IP_MAX_REQUESTS: positiveInt(60),
  PUBLIC_LOOKUP_IP_WINDOW: duration("1m").refine((ms) => ms > 0, "expected a duration longer than 0"),
};

export type UserConfig = ReturnType<typeof loadUserConfig>;

export function loadUserConfig(env: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv(userEnv, env);
  return {
    ...parsed,
    databaseUrl: databaseUrlFor(parsed.USER_DATABASE_URL, parsed, "user"),
    authServiceUrl: parsed.AUTH_SERVICE_URL ?? authServiceUrlFrom(parsed.AUTH_JWKS_URL),
  };
}

/** The auth service's base URL from its JWKS URL: the same server, which serves both. */
function authServiceUrlFrom(jwksUrl: string): string {
  const url = new URL(jwksUrl);
  url.pathname = url.pathname.replace(/\/?\.well-known\/jwks\.json$/, "");
  url.search = "";
  url.hash = "";
  return url.toString().replace(/\/$/, "");
}
