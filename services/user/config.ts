import { z } from "zod";
import { databaseUrlFor, commonEnv } from "../shared/config/common.js";
import { optionalUrl, parseEnv, port } from "../shared/config/env.js";
import { metricsPort } from "../shared/metrics/metrics-port.js";

const userEnv = {
  ...commonEnv,
  USER_PORT: port(50052),
  USER_METRICS_PORT: metricsPort(9465),
  USER_DATABASE_URL: optionalUrl,
  // Where the auth service publishes its JWKS; the user service verifies access tokens locally with it.
  AUTH_JWKS_URL: z.url().default("http://127.0.0.1:50051/.well-known/jwks.json"),
};

export type UserConfig = ReturnType<typeof loadUserConfig>;

export function loadUserConfig(env: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv(userEnv, env);
  return { ...parsed, databaseUrl: databaseUrlFor(parsed.USER_DATABASE_URL, parsed, "user") };
}
