// Throwaway NATS JetStream servers (~50 ms each). Each test file starts its own, so stream and
// consumer names never collide between files running in parallel, and fault tests can stop, kill
// and restart theirs. Never the machine's own NATS: nothing here defaults to port 4222.
import type { ChildProcess } from "node:child_process";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { findBinaries } from "./ensure-binaries.js";
import { makeTempDir, spawnServer, startOnFreePort, stopServer, waitUntilReady } from "./server-process.js";

export interface NatsInstance {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  /** True when this is the server from NATS_URL, which the tests cannot stop: fault tests should skip. */
  readonly external: boolean;
  /** Graceful stop (SIGTERM). */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash: open connections drop at once. */
  kill(): Promise<void>;
  /** Starts again on the same port and store directory, so JetStream streams and messages survive. */
  start(): Promise<void>;
  restart(): Promise<void>;
}

export async function startNats(): Promise<NatsInstance> {
  const binary = findBinaries().natsServer;
  // NATS_URL is used only when there is no nats-server to run (the global setup could not install
  // it): tests need servers they can kill and restart, and a server of their own per file.
  if (binary === null) {
    const url = process.env.NATS_URL;
    if (!url)
      throw new Error(
        "nats-server not found and NATS_URL not set (the test global setup installs nats-server with apt-get)",
      );
    return externalNats(url);
  }

  const dir = makeTempDir("nats");
  const logFile = join(dir, "nats.log");
  let port = 0; // chosen by startOnFreePort below, then kept across restarts
  let child: ChildProcess | null = null;

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", join(dir, "jetstream"), "-n", `test-${port}`];
    const started = spawnServer({ command: binary, args, logFile, deathSignal: "SIGKILL" });
    child = started;
    await waitUntilReady(started, logFile, `nats-server on port ${port}`, () => jetStreamReady(port));
  };
  const stop = async () => {
    if (child) await stopServer(child, "SIGTERM");
  };
  const kill = async () => {
    if (child) await stopServer(child, "SIGKILL");
  };

  await startOnFreePort(async (candidate) => {
    port = candidate;
    await start();
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    external: false,
    start,
    stop,
    kill,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

/** Connects and reads the server's INFO line: accepting clients, with JetStream on. */
function jetStreamReady(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: "127.0.0.1" });
    let received = "";
    socket.setTimeout(2_000, () => socket.destroy(new Error("no INFO from nats-server")));
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      received += chunk.toString("utf8");
      if (!received.includes("\r\n")) return;
      socket.destroy();
      resolve(received.startsWith("INFO ") && received.includes('"jetstream":true'));
    });
  });
}

function externalNats(url: string): NatsInstance {
  const refuse = async () => {
    throw new Error(`cannot stop or restart the NATS at NATS_URL (${url}); install nats-server to run fault tests`);
  };
  return { url, external: true, stop: refuse, kill: refuse, start: refuse, restart: refuse };
}
