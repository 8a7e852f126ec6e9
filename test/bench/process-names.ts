// Every process the benchmark starts, by pid: names the CPU profiles they leave behind.
import type { NodeProcess } from "../support/node-process.js";

export const processNames = new Map<number, string>();

/** Records the process's name under its pid, and returns it. */
export function named<T extends NodeProcess>(proc: T): T {
  processNames.set(proc.pid, proc.name);
  return proc;
}
