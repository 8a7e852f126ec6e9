// Runs one server process (postgres, nats-server, our services, the benchmark's peers) so that it can
// never outlive us; every process the tests, the benchmark and the soak start goes through here:
// - `setpriv --pdeathsig` makes the kernel signal it when the process that started it dies, however
//   that process dies (test failure, Ctrl-C, SIGKILL of vitest or of its worker);
// - it gets its own process group, so kill() takes its children (Postgres backends) down too;
// - an exit hook kills whatever is still running when our process exits normally;
// - a vitest worker exits when its main process is gone.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface ServerProcessOptions {
  command: string;
  args: string[];
  logFile: string;
  /** Signal the kernel sends the server if our process dies first. */
  deathSignal: NodeJS.Signals;
  /** Run as this OS user (Postgres refuses to run as root). */
  user?: { uid: number; gid: number } | null;
  /** The whole environment of the process; ours when not given. */
  env?: NodeJS.ProcessEnv;
  /** Working directory; by default the log file's folder (the server's user may not be allowed into ours). */
  cwd?: string;
  /** Open an IPC channel (process.send in a node child). */
  ipc?: boolean;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

// A vitest worker outlives its main process when only the main one is signalled (vitest then exits
// without stopping its workers), and would keep a hung test and its servers running: leave when
// the IPC channel to the parent closes.
if (process.send) process.once("disconnect", () => process.exit(1));

const hasSetpriv = existsSync("/usr/bin/setpriv");

export function spawnServer(options: ServerProcessOptions): ChildProcess {
  const [command, args] = hasSetpriv
    ? [
        "/usr/bin/setpriv",
        ["--pdeathsig", options.deathSignal.replace(/^SIG/, ""), "--", options.command, ...options.args],
      ]
    : [options.command, options.args];
  // Output goes to a file, not a pipe: nobody reads a pipe while tests run, and a full one blocks the server.
  const log = openSync(options.logFile, "a");
  try {
    const child = spawn(command, args, {
      detached: true,
      cwd: options.cwd ?? dirname(options.logFile),
      env: options.env ?? process.env,
      stdio: options.ipc ? ["ignore", log, log, "ipc"] : ["ignore", log, log],
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });
    child.once("error", (error) => appendFileSync(options.logFile, `spawn ${command}: ${error.message}\n`));
    running.add(child);
    child.once("exit", () => running.delete(child));
    return child;
  } finally {
    closeSync(log);
  }
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Signals the server and waits until it has exited; SIGKILLs it if it takes longer than graceMs. */
export async function stopServer(child: ChildProcess, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  killGroup(child, signal);
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export function logTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * A free 127.0.0.1 port below the kernel's ephemeral range (32768+): servers are restarted on the
 * same port, and a port from that range could meanwhile be taken by some outgoing connection.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error("no free port found in 20000-32000");
}

/**
 * Starts a server on a free port; tries another one if something took the port between our check
 * and the server's bind (another test file's server, picked at the same moment).
 */
export async function startOnFreePort(start: (port: number) => Promise<void>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await start(port);
      return port;
    } catch (error) {
      if (attempt >= 3 || !/already in use/i.test((error as Error).message)) throw error;
    }
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Root folder for this run's throwaway data; the global setup sets it so its teardown removes it all. */
export const TEST_ROOT_ENV = "MINTCOIN_TEST_ROOT";
export const TEST_ROOT_PREFIX = "mintcoin-test-";

export function makeTempDir(label: string): string {
  const root = process.env[TEST_ROOT_ENV];
  return mkdtempSync(
    join(root && existsSync(root) ? root : tmpdir(), root ? `${label}-` : `${TEST_ROOT_PREFIX}${label}-`),
  );
}

/**
 * The one "wait until serving" of the harness: polls check() (a real readiness signal: a query that
 * answers, JetStream that answers, health SERVING) until it resolves true. Fails at once, with the
 * server's log, if the server exits, and kills it if it is not ready within timeoutMs.
 */
export async function waitUntilReady(
  child: ChildProcess,
  logFile: string,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${what} exited during start (code ${child.exitCode}, signal ${child.signalCode}):\n${logTail(logFile)}`,
      );
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  killGroup(child, "SIGKILL");
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${logTail(logFile)}`, { cause: lastError });
}
