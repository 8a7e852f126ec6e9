// The children of a process, and whether a process has exited, from /proc (Linux): for servers
// whose children leave their parent's process group, which a signal to the group does not reach.
import { readdirSync, readFileSync } from "node:fs";

/**
 * The fields of /proc/<pid>/stat after the command name (state, ppid, ..., utime at index 11, stime
 * at 12), or undefined once the process is gone. "pid (comm) state ppid ...": comm may hold spaces and
 * parentheses, so the fields start after the last ")".
 */
export function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The state letter and parent pid of `pid`, or undefined once it is gone. */
function statOf(pid: number): { state: string; ppid: number } | undefined {
  const fields = procStatFields(pid);
  return fields && { state: fields[0] ?? "", ppid: Number(fields[1]) };
}

/** The pids whose parent is `pid` right now. */
export function childPids(pid: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((candidate) => statOf(candidate)?.ppid === pid);
}

/**
 * Whether `pid` has exited: gone, or a zombie waiting to be reaped (it holds no memory, no files and
 * no shared memory any more; in a container nobody may ever reap it).
 */
export function hasExited(pid: number): boolean {
  const stat = statOf(pid);
  return stat === undefined || stat.state === "Z" || stat.state === "X";
}
