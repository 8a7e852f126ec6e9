// What a service process costs, read from outside it (/proc), so the numbers include everything the
// process does (event loop, GC, libuv and WebCrypto threads, the outbox relay) and nothing the load
// generator, Postgres or NATS do on the same machine.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { procStatFields } from "../support/process-tree.js";

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** User + system CPU seconds the process has used since it started (all its threads). */
export function cpuSeconds(pid: number): number {
  const fields = procStatFields(pid);
  if (!fields) throw new Error(`process ${pid} is gone: no CPU time to read`);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond;
}

/**
 * Until none of the processes used a CPU tick for `quietMs` (their background work, such as the
 * outbox relay or the event consumers, is done), checked every `quietMs`, for at most `timeoutMs`.
 * False if they were still busy then: a timer of an idle process may take a tick now and then.
 */
export async function untilCpuIdle(pids: readonly number[], quietMs: number, timeoutMs: number): Promise<boolean> {
  const sample = () => pids.map((pid) => cpuSeconds(pid)).join();
  let last = sample();
  for (let waited = 0; waited < timeoutMs; waited += quietMs) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = sample();
    if (now === last) return true;
    last = now;
  }
  return false;
}

/**
 * Read and write system calls the process has made since it started (/proc/<pid>/io syscr and syscw,
 * socket reads and writes included): a statement sent to Postgres or a message to NATS is a write
 * and its answer a read or more, so these count a call's round trips, the outbox relay's included.
 */
export function ioSyscalls(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(io)?.[1] ?? Number.NaN);
  return { reads: field("syscr"), writes: field("syscw") };
}

/** Peak resident set size (VmHWM) in MB since start or since the last resetPeakRss(). */
export function peakRssMb(pid: number): number {
  return statusKb(pid, "VmHWM") / 1024;
}

export function rssMb(pid: number): number {
  return statusKb(pid, "VmRSS") / 1024;
}

/** Starts a new peak-RSS window (Linux >= 4.0; needs to own the process or be root). */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

function statusKb(pid: number, key: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) : 0;
}

/** CPU model, cores, memory and Node version: the "machine" of a benchmark result. */
export function describeMachine(): string {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU";
  const cores = cpuinfo.match(/^processor\s*:/gm)?.length ?? 0;
  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  return `${model}, ${cores} cores, ${Math.round(memKb / 1024 / 1024)} GiB RAM, Linux, Node ${process.version}`;
}
