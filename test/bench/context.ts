// What every scenario gets: the run's settings, the processes under measurement and the helpers
// that turn one load run into a RunRow.
import { randomBytes } from "node:crypto";
import type { BenchClient } from "./clients.js";
import type { BenchInfra } from "./infra.js";
import { runH2load, type H2loadOptions } from "./h2load.js";
import { runLoad, type LoadOptions, type LoadResult } from "./load.js";
import { measure, type CommitCounter } from "./measure.js";
import type { NodeProcess } from "../support/node-process.js";
import { runRow, type RunRow } from "./report.js";
import type { ServiceProcess } from "./services.js";

export interface BenchContext {
  quick: boolean;
  log(line: string): void;
  infra: BenchInfra;
  counter: CommitCounter;
  databases: { auth: { name: string; url: string }; user: { name: string; url: string } };
  auth: ServiceProcess;
  /** Undefined when the user service could not start (its scenarios are then skipped). */
  user: ServiceProcess | undefined;
  userFailure: string | undefined;
  /** One grpc-js and one Connect client for the current auth/user processes. */
  clients: BenchClient[];
  h2load: boolean;
  /** Node flags for service processes (--cpu-prof when profiling). */
  serviceNodeFlags: string[];
  /** The auth service's metrics port (the relay's own lag histogram is read there). */
  authMetricsPort: number;
}

/** Seconds per measured run. */
export function runSeconds(ctx: BenchContext, kind: "cheap" | "flow"): number {
  if (ctx.quick) return kind === "cheap" ? 1 : 2;
  return kind === "cheap" ? 5 : 8;
}

/** In-flight counts for Node clients and for h2load. */
export function nodeConcurrencies(ctx: BenchContext): number[] {
  return ctx.quick ? [16] : [1, 16, 64];
}

/** An h2load load shape: connections, and streams in flight on each. */
export interface H2loadShape {
  connections: number;
  streams: number;
}

/** "64x1": 64 connections with one stream each. */
export function shapeLabel(shape: H2loadShape): string {
  return `${shape.connections}x${shape.streams}`;
}

/**
 * The h2load shapes of the cheap RPCs. Both at 64 in flight, since the two stress different things:
 * many connections with one stream each (per-connection and per-read costs: every call is its own
 * socket read and write) and few connections with many streams (frames of several calls batched in
 * one read). The full run adds one call in flight (latency).
 */
export function h2loadShapes(ctx: BenchContext): H2loadShape[] {
  const peak = [
    { connections: 64, streams: 1 },
    { connections: 4, streams: 16 },
  ];
  return ctx.quick ? peak : [{ connections: 1, streams: 1 }, ...peak];
}

const runId = randomBytes(3).toString("hex");
let sequence = 0;

/** A fresh email address: the per-identifier send limit (3 per 15 minutes) is never reached. */
export function freshEmail(label: string): string {
  return `bench-${runId}-${label}-${sequence++}@example.com`;
}

export async function measuredLoad(
  ctx: BenchContext,
  processes: NodeProcess[],
  client: string,
  inFlight: number,
  options: Omit<LoadOptions, "concurrency">,
  note?: string,
): Promise<RunRow> {
  const { result, costs } = await measure(processes, ctx.counter, () => runLoad({ ...options, concurrency: inFlight }));
  return logRun(ctx, runRow(client, inFlight, result, costs, note));
}

export async function measuredH2load(
  ctx: BenchContext,
  processes: NodeProcess[],
  shape: H2loadShape,
  options: Omit<H2loadOptions, "clients" | "streams" | "durationS">,
  note?: string,
): Promise<RunRow> {
  const { result, costs } = await measure(
    processes,
    ctx.counter,
    (): Promise<LoadResult> =>
      runH2load({
        ...options,
        clients: shape.connections,
        streams: shape.streams,
        durationS: runSeconds(ctx, "cheap"),
      }),
  );
  const row = runRow("h2load", shape.connections * shape.streams, result, costs, note);
  return logRun(ctx, { ...row, shape: shapeLabel(shape) });
}

/**
 * An unmeasured h2load run before a cheap RPC's measured ones: V8 compiles a call path on first use
 * (on background threads, which count as the process's CPU) and optimises it after some thousands of
 * calls. Unwarmed, the first measured run (1x1) carried that cost: the same ValidateToken measured
 * 0.55x of the empty RPC right after the sign-in that fetched its token, and 0.95x once warm. Every
 * side of a comparison, the baseline servers included, is warmed the same way.
 */
export async function warmUpH2load(
  ctx: BenchContext,
  options: Omit<H2loadOptions, "clients" | "streams" | "durationS">,
): Promise<void> {
  await runH2load({ ...options, clients: 4, streams: 16, durationS: ctx.quick ? 0.5 : 2 });
}

function logRun(ctx: BenchContext, row: RunRow): RunRow {
  const cpu = Object.entries(row.cpu_ms_per_op)
    .map(([name, ms]) => `${name} ${ms} ms`)
    .join(", ");
  ctx.log(
    `  ${row.client} x${row.in_flight}${row.shape ? ` (${row.shape})` : ""}: ${row.ops} ops, ${row.ops_per_s}/s, ${row.ops_per_service_cpu_s}/cpu-s, p50 ${row.p50_ms} p99 ${row.p99_ms} ms, cpu/op ${cpu}, commits/op ${row.commits_per_op}${row.errors ? `, ${row.errors} errors: ${row.first_error}` : ""}`,
  );
  return row;
}
