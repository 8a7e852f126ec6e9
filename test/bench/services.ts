// Our two services as separate processes, built (`npm run build`) and started by the harness's
// startServiceProcess exactly as in production: dist/, the node flags of `npm run start:auth` /
// `start:user`, configured only by environment. Only LOG_LEVEL and the auth service's settings in
// benchAuthEnv differ.
import {
  deployedEnvironment,
  type ServiceProcess,
  type ServiceProcessOptions,
  startServiceProcess,
} from "../support/service-process.js";
import type { BenchInfra } from "./infra.js";
import { named } from "./process-names.js";

export type { ServiceProcess } from "../support/service-process.js";

export interface ServiceOptions {
  databaseUrl: string;
  /** Unset: no NATS, so the outbox relay is off and events wait in the outbox. */
  natsUrl: string | undefined;
  /** Extra node flags (e.g. --cpu-prof --cpu-prof-dir=...). */
  nodeFlags?: string[];
  env?: Record<string, string>;
  /** Restart on the same port, so that clients reconnect by themselves. */
  port?: number;
}

/**
 * The benchmark stands where a load balancer would: it is the one trusted proxy, and each new person
 * of the sign-in scenarios calls from an address of their own, sent as X-Forwarded-For (flows.ts).
 * The per-IP send limit (default 30 per 15 minutes) is still raised, for the calls that come from
 * 127.0.0.1 itself (memory-1m's seeded users, who signed in from there), and the global send budget
 * (default 1,000 per hour), since the benchmark sends more codes in a minute. The per-identifier
 * limit stays at its default of 3: the benchmark uses a fresh identifier for each sign-in it measures.
 */
export const benchAuthEnv = {
  TRUSTED_PROXIES: "127.0.0.1",
  OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000000000",
  OTP_GLOBAL_SEND_BUDGET: "1000000000",
  OTP_DELIVERY: "nats",
};

function asDeployed(options: ServiceOptions, env: Record<string, string | undefined>): ServiceProcessOptions {
  return {
    from: "dist",
    inherit: deployedEnvironment(),
    env: { LOG_LEVEL: "warn", ...env, NATS_URL: options.natsUrl, ...options.env },
    port: options.port,
    nodeFlags: options.nodeFlags,
  };
}

export async function startAuthProcess(options: ServiceOptions): Promise<ServiceProcess> {
  const env = {
    ...benchAuthEnv,
    ...(options.natsUrl ? {} : { OTP_DELIVERY: "log" }),
    AUTH_DATABASE_URL: options.databaseUrl,
  };
  return named(await startServiceProcess("auth", asDeployed(options, env)));
}

export async function startUserProcess(options: ServiceOptions & { authBaseUrl: string }): Promise<ServiceProcess> {
  const env = {
    USER_DATABASE_URL: options.databaseUrl,
    AUTH_JWKS_URL: `${options.authBaseUrl}/.well-known/jwks.json`,
  };
  return named(await startServiceProcess("user", asDeployed(options, env)));
}

/**
 * Both services on fresh databases of `infra`, with the benchmark's settings and nothing more: what the
 * diagnostic scripts (count-statements.ts, sign-in-phases.ts) start.
 */
export async function startBothServices(infra: BenchInfra): Promise<{ auth: ServiceProcess; user: ServiceProcess }> {
  const authDb = await infra.createDatabase("auth");
  const userDb = await infra.createDatabase("user");
  const auth = await startAuthProcess({ databaseUrl: authDb.url, natsUrl: infra.natsUrl });
  const user = await startUserProcess({ databaseUrl: userDb.url, natsUrl: infra.natsUrl, authBaseUrl: auth.baseUrl });
  return { auth, user };
}
