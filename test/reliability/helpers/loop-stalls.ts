// How long this process's event loop could not run a timer on time, and when. A timer that is due
// while the loop is busy (or while the process waits for a CPU on a loaded machine) fires late by as
// much as the loop stays unavailable after it was due, and several stalls in a row add up: the
// longest single stall (monitorEventLoopDelay's max) is not enough to explain a late timer.

export interface LoopStallMeter {
  /** Milliseconds the loop was late, summed over the ticks that ran between `from` and `to` (performance.now()). */
  stalledBetween(from: number, to: number): number;
  /** The longest single stall seen. */
  longestMs(): number;
  stop(): void;
}

/** Starts a `periodMs` tick and records how late each one ran. */
export function meterLoopStalls(periodMs = 10): LoopStallMeter {
  const stalls: Array<{ at: number; lateMs: number }> = [];
  let last = performance.now();
  // Node schedules each repetition periodMs after the previous one ran, so each tick's lateness is its own.
  const tick = setInterval(() => {
    const now = performance.now();
    const lateMs = now - last - periodMs;
    if (lateMs > 0) stalls.push({ at: now, lateMs });
    last = now;
  }, periodMs);
  return {
    stalledBetween(from, to) {
      // A tick that ran after `from` was late partly before it: count only the part after `from`.
      let total = 0;
      for (const stall of stalls) {
        if (stall.at <= from || stall.at - stall.lateMs > to) continue;
        total += Math.min(stall.at, to) - Math.max(stall.at - stall.lateMs, from);
      }
      return total;
    },
    longestMs: () => Math.max(0, ...stalls.map((stall) => stall.lateMs)),
    stop: () => clearInterval(tick),
  };
}
