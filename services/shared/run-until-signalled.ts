import { ConfigError } from "./config/env.js";

interface Closable {
  close(): Promise<void>;
}

/**
 * Starts a service and stops it gracefully on SIGTERM or SIGINT. A second signal, or a stop that
 * takes too long, ends the process at once. A configuration error prints its message and exits 78
 * (EX_CONFIG) without a stack trace: it is the operator's to fix, not a crash.
 */
export async function runUntilSignalled(
  name: string,
  start: () => Promise<Closable>,
  hardStopMs = 30_000,
): Promise<void> {
  let service: Closable;
  try {
    service = await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`${name}: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    setTimeout(() => {
      process.stderr.write(`${name}: graceful stop took longer than ${hardStopMs} ms, exiting\n`);
      process.exit(1);
    }, hardStopMs).unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${name}: error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
