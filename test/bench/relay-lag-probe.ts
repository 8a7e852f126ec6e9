// Relay lag, measured from both ends: per event from a receiver in a separate process
// (event-receiver.ts: occurred_at to receipt), and the relay's own histogram
// mintcoin_outbox_relay_lag_seconds (transaction to JetStream ack) from the auth service's metrics
// port, read before and after a run.
import { fileURLToPath } from "node:url";
import { type NodeProcess, spawnNode } from "../support/node-process.js";
import { waitUntilReady } from "../support/server-process.js";
import { ascending, percentile } from "../support/statistics.js";
import { named } from "./process-names.js";
import { round } from "./report.js";

const receiverScript = fileURLToPath(new URL("./event-receiver.ts", import.meta.url));

export interface LagReceiver {
  proc: NodeProcess;
  /** Waits until no event has arrived for `quietMs`, then returns the lags (ms) since the last call. */
  settled(quietMs?: number): Promise<number[]>;
  close(): Promise<void>;
}

interface Batch {
  lags: number[];
  lastReceivedAt: number;
}

export async function startLagReceiver(natsUrl: string): Promise<LagReceiver> {
  const proc = named(
    spawnNode({
      name: "event-receiver",
      script: receiverScript,
      args: [natsUrl],
      env: { PATH: process.env.PATH, NODE_ENV: "production" },
      ipc: true,
    }),
  );
  let ready = false;
  let pending: ((batch: Batch) => void) | undefined;
  proc.child.on("message", (message: { ready?: boolean } & Partial<Batch>) => {
    if (message.ready) ready = true;
    else if (message.lags) pending?.({ lags: message.lags, lastReceivedAt: message.lastReceivedAt ?? 0 });
  });
  await waitUntilReady(proc.child, proc.logFile, "event receiver", async () => ready, 60_000);
  const take = () =>
    new Promise<Batch>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the event receiver did not answer")), 10_000);
      pending = (batch) => {
        clearTimeout(timer);
        pending = undefined;
        resolve(batch);
      };
      proc.child.send({ take: true });
    });
  return {
    proc,
    async settled(quietMs = 300) {
      const lags: number[] = [];
      // The slowest events of a run arrive after its last RPC: wait for a quiet moment (at most ~12 s).
      for (let i = 0; i < 40; i++) {
        const batch = await take();
        lags.push(...batch.lags);
        if (batch.lags.length === 0 && Date.now() - batch.lastReceivedAt >= quietMs) break;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      return lags;
    },
    async close() {
      proc.child.disconnect?.();
      await proc.stop();
    },
  };
}

export interface LagSummary {
  events: number;
  p50: number;
  p99: number;
}

export function summarize(lags: number[]): LagSummary {
  const sorted = ascending(lags);
  return { events: sorted.length, p50: round(percentile(sorted, 0.5), 1), p99: round(percentile(sorted, 0.99), 1) };
}

/** Cumulative bucket counts of mintcoin_outbox_relay_lag_seconds, by upper bound in seconds. */
export type RelayHistogram = Map<number, number>;

/** Reads the relay's histogram from a metrics port (undefined when it cannot be read). */
export async function scrapeRelayLag(metricsUrl: string | undefined): Promise<RelayHistogram | undefined> {
  if (!metricsUrl) return undefined;
  try {
    const text = await (await fetch(metricsUrl)).text();
    const buckets: RelayHistogram = new Map();
    for (const match of text.matchAll(/^mintcoin_outbox_relay_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
      buckets.set(match[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2]));
    }
    return buckets.size > 0 ? buckets : undefined;
  } catch {
    return undefined;
  }
}

/**
 * p50/p99 of the events relayed between two scrapes, as the upper bound (ms) of the histogram
 * bucket the quantile falls in: "p99 <= 100" means at least 99% took at most 100 ms.
 */
export function relayQuantiles(
  before: RelayHistogram | undefined,
  after: RelayHistogram | undefined,
): { events: number; p50_at_most: number; p99_at_most: number } | undefined {
  if (!before || !after) return undefined;
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((bound) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return undefined;
  const quantile = (q: number) => {
    const index = counts.findIndex((count) => count >= q * total);
    return round((bounds[index] ?? Number.POSITIVE_INFINITY) * 1000, 1);
  };
  return { events: total, p50_at_most: quantile(0.5), p99_at_most: quantile(0.99) };
}
