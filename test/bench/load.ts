// A closed-loop load generator: `concurrency` workers, each starting its next operation when the
// previous one ends, until a deadline or an operation budget. Latency is per operation.

import { percentile } from "../support/statistics.js";

export interface LoadOptions {
  concurrency: number;
  /** Stop starting operations after this long. */
  durationMs: number;
  /** Or after this many operations (whichever comes first). */
  maxOps?: number;
  /** One operation; `index` is unique across workers, `worker` is 0..concurrency-1. */
  op(index: number, worker: number): Promise<void>;
}

export interface LoadResult {
  ops: number;
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + options.durationMs;
  const maxOps = options.maxOps ?? Number.POSITIVE_INFINITY;

  const worker = async (id: number) => {
    while (performance.now() < deadline && next < maxOps) {
      const index = next++;
      const began = performance.now();
      try {
        await options.op(index, id);
        latencies.push(performance.now() - began);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
        // A failing operation must not spin: errors stop the run once they are most of it.
        if (errors > 20 && errors > latencies.length) break;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  const elapsedMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    ops: latencies.length,
    errors,
    firstError,
    elapsedMs,
    opsPerSecond: (latencies.length / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}
