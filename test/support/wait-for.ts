// Polling for things that happen "soon" (an event delivered, a revocation applied): tests wait for
// the state they expect instead of sleeping a guessed time.

export interface WaitForOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 25 ms). */
  intervalMs?: number;
}

/**
 * Calls predicate until it returns a truthy value without throwing, and returns that value.
 * A predicate may be async and may throw (e.g. an `expect`): on timeout the last error is rethrown,
 * so the failure reads like the assertion that never came true.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions = {}): Promise<T> {
  const { timeoutMs = 5_000, intervalMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failure: unknown;
    try {
      const value = await predicate();
      if (value) return value;
    } catch (error) {
      failure = error;
    }
    if (Date.now() >= deadline) {
      if (failure !== undefined) throw failure;
      throw new Error(`waitFor: condition still false after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
