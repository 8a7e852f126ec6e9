// One of our services as its own OS process, started the way production starts it: with the node
// flags of `npm run start:auth` / `start:user` (read from package.json, so the two cannot drift), and
// either the built dist/services/<name>/main.js those scripts run, or services/<name>/main.ts through
// tsx for callers that do not build (the tests). Tests, the benchmark and the soak all start services
// here. Started means serving: it waits until grpc.health.v1.Health answers SERVING.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { type NodeProcess, nodeArguments, repoRoot, spawnNode } from "./node-process.js";
import { freePort, logTail, makeTempDir, waitUntilReady } from "./server-process.js";

export type ServiceName = "auth" | "user";

/** "dist": the build `npm run start:<name>` runs (call ensureBuilt first); "source": main.ts through tsx. */
export type ServiceCode = "dist" | "source";

type Env = Record<string, string | undefined>;

export interface ServiceProcessOptions {
  from: ServiceCode;
  /** What the process inherits: `process.env`, or deployedEnvironment() for production's view. */
  inherit: Env;
  /** Its configuration (database URL, NATS_URL, ...), over the inherited environment and the defaults. */
  env: Env;
  /** A port to keep across restarts; a free one when not given. */
  port?: number;
  /** Node flags after the production ones (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /**
   * When start() counts the process as started: `serving` (the default) once its health check says
   * SERVING; `answering` once it answers at all, for a service whose dependency is down on purpose
   * (it then answers NOT_SERVING).
   */
  readyWhen?: "serving" | "answering";
}

export interface ServiceProcess extends NodeProcess {
  readonly name: ServiceName;
  readonly port: number;
  readonly baseUrl: string;
  /** host:port, for grpc-js clients. */
  readonly address: string;
  /** How each process so far ended, for diagnostics. */
  readonly exits: string[];
  /** Starts it again on the same port, unless it is still running, and waits until SERVING. */
  start(): Promise<void>;
  /** Sends a signal to the process and waits for its exit; returns how it ended. */
  signal(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The log of every process started so far (one file, appended to). */
  log(): string;
}

/**
 * The key-encryption key a production host hands the auth service (from its secret store), one per
 * test run: a service restarted on the same database must get the same one.
 */
const hostKeyEncryptionKey = randomBytes(32).toString("base64");

/** What a deployed process gets from its host besides its configuration: no test variables. */
export function deployedEnvironment(): Env {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    KEY_ENCRYPTION_KEY: hostKeyEncryptionKey,
  };
}

/** The node flags of `npm run start:<name>` in package.json (the heap and semi-space caps). */
function productionNodeFlags(name: ServiceName): string[] {
  const packageJson = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  const script = packageJson.scripts[`start:${name}`] ?? "";
  const flags = /^node((?: --[\w-]+(?:=\S+)?)*) dist\//.exec(script);
  if (!flags)
    throw new Error(`package.json start:${name} is not "node [--flags] dist/...": cannot tell its node flags`);
  return flags[1]!.split(" ").filter(Boolean);
}

function entryPoint(name: ServiceName, from: ServiceCode): string {
  return from === "dist"
    ? join(repoRoot, "dist", "services", name, "main.js")
    : join(repoRoot, "services", name, "main.ts");
}

/** node's arguments for a service: production's flags, then the caller's, then the entry point. */
export function serviceNodeArguments(name: ServiceName, from: ServiceCode, nodeFlags: string[] = []): string[] {
  return nodeArguments(entryPoint(name, from), [...productionNodeFlags(name), ...nodeFlags]);
}

export async function startServiceProcess(name: ServiceName, options: ServiceProcessOptions): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const variable = name.toUpperCase();
  const env = {
    ...options.inherit,
    [`${variable}_PORT`]: String(port),
    [`${variable}_METRICS_PORT`]: "off",
    ...options.env,
  };
  const nodeFlags = [...productionNodeFlags(name), ...(options.nodeFlags ?? [])];
  const logFile = join(makeTempDir(`${name}-process`), `${name}.log`);
  let current: ReturnType<typeof spawnNode> | undefined;
  const exits: string[] = [];

  const start = async () => {
    if (current && current.child.exitCode === null && current.child.signalCode === null) return;
    const proc = spawnNode({ name, script: entryPoint(name, options.from), nodeFlags, env, logFile });
    current = proc;
    const startedAt = Date.now();
    proc.child.once("exit", (code, signal) =>
      exits.push(`pid ${proc.pid} ran ${Date.now() - startedAt} ms, exit ${code ?? signal}`),
    );
    const ready = healthReady(baseUrl, options.readyWhen ?? "serving");
    await waitUntilReady(proc.child, logFile, `${name} service on port ${port}`, ready, 60_000);
  };

  await start();
  return {
    name,
    port,
    baseUrl,
    address: `127.0.0.1:${port}`,
    logFile,
    exits,
    get pid() {
      return current!.pid;
    },
    start,
    async signal(signal) {
      const { child } = current!;
      if (child.exitCode !== null || child.signalCode !== null)
        return { code: child.exitCode, signal: child.signalCode };
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signalCode) => resolve({ code, signal: signalCode })),
      );
      // The process itself, not its group: setpriv execs node, so the pid is node's.
      process.kill(child.pid!, signal);
      return exited;
    },
    log: () => logTail(logFile, 10_000),
    stop: () => current!.stop(),
  };
}

/** The readiness signal: grpc.health.v1.Health/Check for the whole server answers SERVING. */
/** True once the health check says SERVING, or (`answering`) once it answers at all. */
function healthReady(baseUrl: string, readyWhen: "serving" | "answering"): () => Promise<boolean> {
  const health = createClient(Health, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  return async () => {
    const { status } = await health.check({ service: "" });
    return readyWhen === "answering" || status === HealthCheckResponse_ServingStatus.SERVING;
  };
}
