// The children of a process, and whether a process has exited, from /proc (Linux): for servers
// whose children leave their parent's process group, which a signal to the group does not reach.
import { readdirSync, readFileSync } from "node:fs";

/** The state letter and parent pid of `pid` from /proc/<pid>/stat, or undefined once it is gone. */
function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: state ?? "", ppid: Number(ppid) };
  } catch {
    return undefined;
  }
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
