// Our two services as separate processes, built (`npm run build`) and configured by environment
// exactly as in production (the node flags of `npm run start:auth` / `start:user` included); only
// LOG_LEVEL and the per-IP OTP send limit differ (see benchAuthEnv).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/server-process.js";
import { healthServing, spawnNode, waitUntilUp, type NodeProcess } from "./processes.js";

const distRoot = fileURLToPath(new URL("../../dist/services/", import.meta.url));

export interface ServiceProcess extends NodeProcess {
  port: number;
  address: string;
  baseUrl: string;
}

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
 * The node flags production runs each service with: those of `npm run start:auth` / `start:user`
 * in package.json (the heap cap), so that what is measured is what is deployed.
 */
export function productionNodeFlags(service: "auth" | "user"): string[] {
  const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    scripts: Record<string, string>;
  };
  const script = packageJson.scripts[`start:${service}`] ?? "";
  const flags = /^node((?: --[\w-]+(?:=\S+)?)*) dist\//.exec(script);
  if (!flags)
    throw new Error(
      `package.json start:${service} is not "node [--flags] dist/...": the benchmark cannot tell its node flags`,
    );
  return flags[1]!.split(" ").filter(Boolean);
}

/** Everything the child needs from our environment (PATH, HOME), nothing that configures the services. */
function baseEnv(): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
  };
}

/**
 * The benchmark signs in from one IP (127.0.0.1), thousands of times a minute: the per-IP send limit
 * (default 30 per 15 minutes) and the global send budget (default 1,000 per hour) are raised for it.
 * The per-identifier limit stays at its default of 3: the benchmark uses a fresh identifier for each
 * sign-in it measures.
 */
export const benchAuthEnv = {
  OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000000000",
  OTP_GLOBAL_SEND_BUDGET: "1000000000",
  OTP_DELIVERY: "nats",
};

export async function startAuthProcess(options: ServiceOptions): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const proc = spawnNode({
    name: "auth",
    script: `${distRoot}auth/main.js`,
    nodeFlags: [...productionNodeFlags("auth"), ...(options.nodeFlags ?? [])],
    env: {
      ...baseEnv(),
      ...benchAuthEnv,
      ...(options.natsUrl ? {} : { OTP_DELIVERY: "log" }),
      AUTH_PORT: String(port),
      AUTH_METRICS_PORT: "off",
      AUTH_DATABASE_URL: options.databaseUrl,
      NATS_URL: options.natsUrl,
      ...options.env,
    },
  });
  return up(proc, port);
}

export async function startUserProcess(options: ServiceOptions & { authBaseUrl: string }): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const proc = spawnNode({
    name: "user",
    script: `${distRoot}user/main.js`,
    nodeFlags: [...productionNodeFlags("user"), ...(options.nodeFlags ?? [])],
    env: {
      ...baseEnv(),
      USER_PORT: String(port),
      USER_METRICS_PORT: "off",
      USER_DATABASE_URL: options.databaseUrl,
      AUTH_JWKS_URL: `${options.authBaseUrl}/.well-known/jwks.json`,
      NATS_URL: options.natsUrl,
      ...options.env,
    },
  });
  return up(proc, port);
}

async function up(proc: NodeProcess, port: number): Promise<ServiceProcess> {
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitUntilUp(proc, () => healthServing(baseUrl));
  return { ...proc, stop: proc.stop, port, address: `127.0.0.1:${port}`, baseUrl };
}
