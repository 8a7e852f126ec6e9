// Throwaway Postgres clusters on free 127.0.0.1 ports: the one shared cluster of a test run (started
// by the global setup) and separate ones for fault tests that stop, kill or restart Postgres.
// Never the machine's own Postgres: nothing here defaults to port 5432.
import { execFileSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { findBinaries, postgresOsUser } from "./ensure-binaries.js";
import { childPids, hasExited } from "./process-tree.js";
import { makeTempDir, spawnServer, startOnFreePort, stopServer, waitUntilReady } from "./server-process.js";
import { waitFor } from "./wait-for.js";

export interface PgInstance {
  /** postgres://postgres@127.0.0.1:PORT/DATABASE (trust auth, no password); database defaults to "postgres". */
  url(database?: string): string;
  readonly port: number;
  /** Fast shutdown (SIGINT): committed data stays. */
  stop(): Promise<void>;
  /** Starts again on the same port and data directory. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** SIGKILL of the postmaster and every backend, as in a crash; start() then runs crash recovery. */
  kill(): Promise<void>;
}

export interface StartPostgresOptions {
  maxConnections?: number;
}

/** Set by the global setup: a ready, never-started data directory that clusters copy instead of running initdb. */
export const PG_TEMPLATE_ENV = "MINTCOIN_TEST_PG_TEMPLATE";

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PgInstance> {
  const binDir = findBinaries().pgBinDir;
  if (binDir === null)
    throw new Error("Postgres server binaries not found (the test global setup installs them with apt-get)");
  const user = postgresOsUser();
  const dir = makeTempDir("pg");
  const dataDir = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  if (user) chownSync(dir, user.uid, user.gid);
  prepareDataDir(binDir, dataDir, user);

  let port = 0; // chosen by startOnFreePort below, then kept across restarts
  const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  let child: ChildProcess | null = null;

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const args = [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=", // TCP only: no socket path length limits, no clash with the system's socket
      // Durability against OS crashes is not under test: without fsync, a commit still reaches the OS
      // before it is acknowledged, so a killed Postgres loses nothing committed. synchronous_commit
      // stays on for exactly that reason (off, a SIGKILL loses the last acknowledged commits), and
      // costs little once fsync is off.
      "-c",
      "fsync=off",
      "-c",
      "full_page_writes=off",
      "-c",
      `max_connections=${options.maxConnections ?? 300}`,
      "-c",
      "log_min_messages=warning",
    ];
    const started = spawnServer({ command: join(binDir, "postgres"), args, logFile, deathSignal: "SIGQUIT", user });
    child = started;
    await waitUntilReady(started, logFile, `postgres on port ${port}`, () => canQuery(url()));
  };
  const stop = async () => {
    if (child) await stopServer(child, "SIGINT");
  };
  const kill = async () => {
    const postmaster = child;
    if (!postmaster?.pid || postmaster.exitCode !== null || postmaster.signalCode !== null) return;
    // Each backend is a process group of its own (Postgres calls setsid() in every child), so the
    // SIGKILL of the server's group below does not reach them: they live on until they notice the
    // postmaster is gone, and a start() before that finds their shared memory still attached and
    // refuses to run. So: freeze the postmaster (it forks nothing more), kill it and each child, and
    // wait until every one of them has exited.
    process.kill(postmaster.pid, "SIGSTOP");
    const backends = childPids(postmaster.pid);
    for (const pid of backends) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await stopServer(postmaster, "SIGKILL");
    await waitFor(() => backends.every(hasExited), { timeoutMs: 30_000 });
  };

  await startOnFreePort(async (candidate) => {
    port = candidate;
    await start();
  });
  return {
    url,
    port,
    start,
    stop,
    kill,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

/** Runs initdb once into dataDir (trust auth, superuser postgres, UTF8, C locale). */
export function initDataDir(binDir: string, dataDir: string, user: { uid: number; gid: number } | null): void {
  // --no-sync: a throwaway cluster needs no fsync at creation; C locale: fresh Debian may have no others.
  execFileSync(
    join(binDir, "initdb"),
    ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"],
    { stdio: ["ignore", "ignore", "pipe"], ...(user ? { uid: user.uid, gid: user.gid } : {}) },
  );
}

function prepareDataDir(binDir: string, dataDir: string, user: { uid: number; gid: number } | null): void {
  const template = process.env[PG_TEMPLATE_ENV];
  if (template && existsSync(template)) {
    // Copying a fresh 40 MB cluster takes ~0.1 s; initdb takes ~0.7 s of CPU. cp -a keeps owner and 0700.
    execFileSync("cp", ["-a", template, dataDir]);
    return;
  }
  mkdirSync(dataDir, { mode: 0o700 });
  if (user) chownSync(dataDir, user.uid, user.gid);
  initDataDir(binDir, dataDir, user);
}

async function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Runs one statement on its own connection (CREATE/DROP DATABASE cannot run inside a transaction). */
export async function adminQuery(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}
