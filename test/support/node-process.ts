// A Node script as a server process (started by spawnServer, so it dies with us and writes to a log
// file), and the handle the benchmark measures a process by. A .ts script runs through tsx's loader,
// resolved from here so that it does not depend on the working directory.
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { makeTempDir, spawnServer, stopServer } from "./server-process.js";

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
/** Where npm runs its scripts: the default working directory of a node process. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export interface NodeProcess {
  readonly name: string;
  /** The running process's id (a restarted service gets a new one). */
  readonly pid: number;
  readonly logFile: string;
  /** SIGTERM and wait for the exit: a service stops gracefully, which is when --cpu-prof writes its profile. */
  stop(): Promise<void>;
}

export interface NodeScriptOptions {
  /** Names the process in logs and errors, and its log folder. */
  name: string;
  /** A .js file (run by node) or a .ts file (run through tsx's loader). */
  script: string;
  args?: string[];
  /** Node flags, e.g. --max-old-space-size=256 or --cpu-prof. */
  nodeFlags?: string[];
  /** The whole environment of the process. */
  env: NodeJS.ProcessEnv;
  /** The repository's root when not given. */
  cwd?: string;
  /** Open an IPC channel (process.send in the child). */
  ipc?: boolean;
  /** Appended to (a restarted service keeps one log); a new file in a throwaway folder when not given. */
  logFile?: string;
}

/** node's arguments for a script: its flags, tsx's loader for TypeScript, the script and its arguments. */
export function nodeArguments(script: string, nodeFlags: string[] = [], args: string[] = []): string[] {
  return [...nodeFlags, ...(script.endsWith(".ts") ? ["--import", tsxLoader] : []), script, ...args];
}

export function spawnNode(options: NodeScriptOptions): NodeProcess & { readonly child: ChildProcess } {
  const logFile = options.logFile ?? join(makeTempDir(options.name), `${options.name}.log`);
  const child = spawnServer({
    command: process.execPath,
    args: nodeArguments(options.script, options.nodeFlags, options.args),
    logFile,
    deathSignal: "SIGKILL",
    env: options.env,
    cwd: options.cwd ?? repoRoot,
    ipc: options.ipc ?? false,
  });
  if (child.pid === undefined) throw new Error(`could not start ${options.name}: ${process.execPath} did not spawn`);
  return {
    name: options.name,
    pid: child.pid,
    child,
    logFile,
    stop: () => stopServer(child, "SIGTERM", 30_000),
  };
}
