// Rules of the form "within a second of X, the session is refused" are about when a call STARTS:
// every call that starts that long after X is refused. When its answer comes back depends on how busy
// the machine is, which no rule promises, so a test that waits for the refusal to ARRIVE within the
// bound fails on a loaded machine without any rule being broken.
import { waitFor } from "./wait-for.js";

export interface RefusedWithinResult<T> {
  /** The first refusal seen. */
  refusal: T;
  /** How long after `since` the last call that was let through had started (-Infinity: none was). */
  lastAcceptedStartMs: number;
}

/**
 * Calls `attempt` until it returns a refusal (a truthy value; a falsy value or a throw means the call
 * was let through), and reports when the last call let through had started, relative to `since`
 * (a `performance.now()` taken just after X happened). Check `lastAcceptedStartMs < bound`.
 * It gives up after `giveUpMs` (default 10 s): that is not the bound, only the end of the wait.
 */
export async function refusedWithin<T>(
  since: number,
  attempt: () => Promise<T | undefined>,
  options: { giveUpMs?: number } = {},
): Promise<RefusedWithinResult<T>> {
  let lastAcceptedStart = Number.NEGATIVE_INFINITY;
  const refusal = await waitFor<T | undefined>(
    async () => {
      const startedAt = performance.now();
      let outcome: T | undefined;
      try {
        outcome = await attempt();
        return outcome;
      } finally {
        // A call that threw is counted as let through too: only a refusal it returned says otherwise.
        if (!outcome) lastAcceptedStart = Math.max(lastAcceptedStart, startedAt);
      }
    },
    { timeoutMs: options.giveUpMs ?? 10_000, intervalMs: 10 },
  );
  // waitFor returns only a truthy value: a refusal.
  return { refusal: refusal as T, lastAcceptedStartMs: lastAcceptedStart - since };
}
