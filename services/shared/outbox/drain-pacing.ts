/** What the relay knows when a drain has gone well. */
export interface DrainOutcome {
  /** Rows the drain published. */
  published: number;
  /** The most a drain claims. */
  batchSize: number;
  /** Whether a commit woke the relay while the drain (and the purge after it, if any) ran. */
  wokenDuringDrain: boolean;
  /** How long ago the drain started, from a monotonic clock. */
  msSinceDrainStarted: number;
  /** The least time between the starts of two drains while events keep coming. */
  lingerMs: number;
}

/**
 * When the relay drains next: after how many milliseconds, or only once a commit wakes it (or its
 * poll comes round). A full batch means a backlog, drained at once. A drain that found rows and was
 * woken while it ran means events keep coming: the next drain starts `lingerMs` after this one
 * started (at once if it took longer), so that it carries everything committed since instead of a
 * transaction per handful of events. Otherwise the relay is idle.
 */
export function nextDrain(outcome: DrainOutcome): number | "when woken" {
  const { published, batchSize, wokenDuringDrain, msSinceDrainStarted, lingerMs } = outcome;
  if (published === batchSize) return 0;
  if (published === 0 || !wokenDuringDrain) return "when woken";
  return Math.max(0, Math.min(lingerMs, lingerMs - msSinceDrainStarted));
}
