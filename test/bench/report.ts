// The benchmark's results: one row per scenario in the shape the issue fixes, plus the runs behind
// each row (client, in-flight count) so that a reader can see where the headline comes from.
import type { LoadResult } from "./load.js";
import type { Costs } from "./measure.js";

export interface RunRow {
  /** "h2load", "grpc-js", "connect", "http (fetch)". */
  client: string;
  in_flight: number;
  /** h2load runs: connections x streams per connection, e.g. "64x1". */
  shape?: string;
  ops: number;
  errors: number;
  first_error?: string;
  ops_per_s: number;
  ops_per_service_cpu_s: number;
  /** Service CPU milliseconds per operation, by process. */
  cpu_ms_per_op: Record<string, number>;
  p50_ms: number;
  p99_ms: number;
  peak_rss_mb: Record<string, number>;
  commits_per_op: number;
  note?: string;
  /** Sign-in runs: event occurred_at to receipt by the receiver process (event-receiver.ts). */
  relay_lag_ms?: { p50: number; p99: number; events: number };
  /** Sign-in runs: the relay's own histogram (transaction to JetStream ack), as bucket upper bounds. */
  relay_side_lag_ms?: { p50_at_most: number; p99_at_most: number; events: number };
}

export interface ScenarioResult {
  name: string;
  ops_per_s: number | null;
  ops_per_service_cpu_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  /** Highest peak RSS among the measured processes (MB). */
  peak_rss_mb: number | null;
  commits_per_op: number | null;
  /** What the ratio compares with: a scenario of this run, or a published figure. */
  baseline: string | null;
  ratio_to_baseline: number | null;
  /** How ratio_to_baseline is computed. */
  ratio_meaning?: string;
  target?: string;
  met?: boolean | null;
  skipped?: string;
  /** Which run the headline numbers come from. */
  headline?: string;
  runs?: RunRow[];
  /** Anything else measured for this scenario (relay lag, exactly-once check, per-service RSS...). */
  extra?: Record<string, unknown>;
  notes?: string[];
}

export function runRow(client: string, inFlight: number, load: LoadResult, costs: Costs, note?: string): RunRow {
  const perOp = (value: number) => (load.ops > 0 ? value / load.ops : Number.NaN);
  const cpuMs: Record<string, number> = {};
  for (const [name, seconds] of Object.entries(costs.cpuSeconds)) cpuMs[name] = round(perOp(seconds) * 1000, 3);
  return {
    client,
    in_flight: inFlight,
    ops: load.ops,
    errors: load.errors,
    ...(load.firstError ? { first_error: load.firstError } : {}),
    ops_per_s: round(load.opsPerSecond, 1),
    ops_per_service_cpu_s: round(costs.totalCpuSeconds > 0 ? load.ops / costs.totalCpuSeconds : Number.NaN, 1),
    cpu_ms_per_op: cpuMs,
    p50_ms: round(load.p50Ms, 2),
    p99_ms: round(load.p99Ms, 2),
    peak_rss_mb: Object.fromEntries(Object.entries(costs.peakRssMb).map(([name, mb]) => [name, round(mb, 1)])),
    commits_per_op: round(perOp(costs.commits), 2),
    ...(note ? { note } : {}),
  };
}

/**
 * Two runs of the same load as one: operations and CPU added up (so the rate per CPU-second is the
 * pooled one), latencies and the rest weighted by operations, peaks the larger. For measurements
 * taken in ABBA order, where each side's two runs straddle the other's.
 */
export function pooledRun(a: RunRow, b: RunRow, note: string): RunRow {
  const ops = a.ops + b.ops;
  const cpuSeconds = (run: RunRow) => (run.ops_per_service_cpu_s > 0 ? run.ops / run.ops_per_service_cpu_s : 0);
  const weighted = (x: number, y: number) => (ops > 0 ? (x * a.ops + y * b.ops) / ops : Number.NaN);
  const perProcess = (pick: (run: RunRow) => Record<string, number>, combine: (x: number, y: number) => number) =>
    Object.fromEntries(
      Object.keys(pick(a)).map((name) => [name, round(combine(pick(a)[name] ?? 0, pick(b)[name] ?? 0), 3)]),
    );
  return {
    ...a,
    ops,
    errors: a.errors + b.errors,
    ops_per_s: round((a.ops_per_s + b.ops_per_s) / 2, 1),
    ops_per_service_cpu_s: round(ops / (cpuSeconds(a) + cpuSeconds(b)), 1),
    cpu_ms_per_op: perProcess((run) => run.cpu_ms_per_op, weighted),
    p50_ms: round(weighted(a.p50_ms, b.p50_ms), 2),
    p99_ms: Math.max(a.p99_ms, b.p99_ms),
    peak_rss_mb: perProcess((run) => run.peak_rss_mb, Math.max),
    commits_per_op: round(weighted(a.commits_per_op, b.commits_per_op), 2),
    note,
  };
}

/** How a run is named in a scenario's `headline`. */
export function runLabel(run: RunRow): string {
  const shape = run.shape ? ` as ${run.shape} (connections x streams)` : "";
  return `${run.client}, ${run.in_flight} in flight${shape}${run.note ? ` (${run.note})` : ""}`;
}

/** A run's load shape in one word: "h2load 64x1", "connect x16". */
export function shapeOf(run: RunRow): string {
  return run.shape ? `${run.client} ${run.shape}` : `${run.client} x${run.in_flight}`;
}

/**
 * The cheap RPCs' headline run: h2load, 64 connections with one stream each (the other shapes are
 * in ratio_by_shape and runs).
 */
export const h2loadHeadline = { client: "h2load", in_flight: 64, shape: "64x1" } as const;

/**
 * The scenario row from one of its runs: the preferred client and in-flight count when given and
 * present, else the run with the most operations per second.
 */
export function scenarioFromRuns(
  name: string,
  runs: RunRow[],
  fields: Partial<ScenarioResult> = {},
  prefer?: { client: string; in_flight: number; shape?: string },
): ScenarioResult {
  const usable = runs.filter((run) => run.ops > 0);
  const preferred =
    prefer &&
    usable.find(
      (run) =>
        run.client === prefer.client &&
        run.in_flight === prefer.in_flight &&
        (prefer.shape === undefined || run.shape === prefer.shape),
    );
  const best =
    preferred ??
    usable.reduce<RunRow | undefined>((a, b) => (a === undefined || b.ops_per_s > a.ops_per_s ? b : a), undefined);
  if (!best) {
    return skipped(
      name,
      `no run completed an operation: ${runs.map((run) => run.first_error).find(Boolean) ?? "no runs"}`,
      { runs, ...fields },
    );
  }
  return {
    name,
    ops_per_s: best.ops_per_s,
    ops_per_service_cpu_s: best.ops_per_service_cpu_s,
    p50_ms: best.p50_ms,
    p99_ms: best.p99_ms,
    peak_rss_mb: Math.max(...Object.values(best.peak_rss_mb)),
    commits_per_op: best.commits_per_op,
    baseline: null,
    ratio_to_baseline: null,
    headline: runLabel(best),
    runs,
    ...fields,
  };
}

export function skipped(name: string, reason: string, fields: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    name,
    ops_per_s: null,
    ops_per_service_cpu_s: null,
    p50_ms: null,
    p99_ms: null,
    peak_rss_mb: null,
    commits_per_op: null,
    baseline: null,
    ratio_to_baseline: null,
    ...fields,
    skipped: reason,
  };
}

export function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return Number.NaN;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The printed table: one line per scenario, then the runs behind it. */
export function formatTable(scenarios: ScenarioResult[]): string {
  const header = [
    "scenario",
    "ops/s",
    "ops/svc-CPU-s",
    "p50 ms",
    "p99 ms",
    "peak RSS MB",
    "commits/op",
    "baseline",
    "ratio",
    "target",
    "met",
  ];
  const rows = scenarios.map((s) =>
    s.skipped
      ? [s.name, `skipped: ${s.skipped}`]
      : [
          s.name,
          fmt(s.ops_per_s),
          fmt(s.ops_per_service_cpu_s),
          fmt(s.p50_ms),
          fmt(s.p99_ms),
          fmt(s.peak_rss_mb),
          fmt(s.commits_per_op),
          s.baseline ?? "",
          fmt(s.ratio_to_baseline),
          s.target ?? "",
          s.met === undefined || s.met === null ? "" : s.met ? "yes" : "NO",
        ],
  );
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.filter((r) => r.length > 2).map((r) => (r[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells.length === 2 && cells[1]!.startsWith("skipped")
      ? `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]}`
      : cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
  const shaped = scenarios.filter((s) => s.extra?.ratio_by_shape || s.extra?.ours_over_better_auth_by_shape);
  if (shaped.length > 0) out.push("", "ratios by load shape (same client, same shape):");
  for (const s of shaped) {
    const ratios = (s.extra?.ratio_by_shape ?? s.extra?.ours_over_better_auth_by_shape) as Record<string, number>;
    const what = s.extra?.ratio_by_shape ? `/ ${s.baseline}` : "ours / better-auth";
    out.push(
      `  ${s.name.padEnd(32)} ${what}: ${Object.entries(ratios)
        .map(([shape, ratio]) => `${shape} ${fmt(ratio)}x`)
        .join(", ")}`,
    );
  }
  out.push("", "runs (client, in flight: ops/s, ops per service-CPU-s, p50/p99 ms, CPU ms per op by process):");
  for (const s of scenarios) {
    for (const run of s.runs ?? []) {
      const cpu = Object.entries(run.cpu_ms_per_op)
        .map(([name, ms]) => `${name} ${fmt(ms)}`)
        .join(", ");
      const errors = run.errors > 0 ? `, ${run.errors} errors (${run.first_error ?? ""})` : "";
      out.push(
        `  ${s.name.padEnd(24)} ${shapeOf(run).padEnd(18)} ${fmt(run.ops_per_s).padStart(8)}/s  ${fmt(run.ops_per_service_cpu_s).padStart(8)}/cpu-s  ${fmt(run.p50_ms)}/${fmt(run.p99_ms)} ms  [${cpu}]${run.note ? ` ${run.note}` : ""}${run.relay_lag_ms ? `, relay lag p50/p99 ${run.relay_lag_ms.p50}/${run.relay_lag_ms.p99} ms` : ""}${run.relay_side_lag_ms ? ` (relay's side <= ${run.relay_side_lag_ms.p50_at_most}/${run.relay_side_lag_ms.p99_at_most} ms)` : ""}${errors}`,
      );
    }
  }
  return out.join("\n");
}

function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Math.round(value * 100) / 100);
}

/**
 * Ratio of operations per service-CPU-second between a scenario's headline run and the baseline's
 * run with the same client and in-flight count (or the baseline's headline when it has none).
 */
export function sameRunRatio(row: ScenarioResult, baseline: ScenarioResult): { ratio: number | null; meaning: string } {
  const best = row.runs?.find((run) => runLabel(run) === row.headline);
  if (!best || baseline.skipped || baseline.ops_per_service_cpu_s === null)
    return { ratio: null, meaning: "no comparable runs" };
  const same = baseline.runs?.find(
    (run) =>
      run.client === best.client &&
      run.in_flight === best.in_flight &&
      run.shape === best.shape &&
      !run.note?.startsWith("new users"),
  );
  const other = same?.ops_per_service_cpu_s ?? baseline.ops_per_service_cpu_s;
  return {
    ratio: round(best.ops_per_service_cpu_s / other, 2),
    meaning: same
      ? `ops per service-CPU-second, this / ${baseline.name}, both with ${shapeOf(best)}`
      : `ops per service-CPU-second, this / ${baseline.name}'s headline`,
  };
}

/** One load shape's ratio of operations per service-CPU-second, this / baseline. */
export interface ShapeRatio {
  shape: string;
  ratio: number;
}

/**
 * Like with like, at every shape both measured: each run of `runs` against the baseline's run with
 * the same client, in-flight count and h2load shape (notes, such as which listener, may differ).
 */
export function ratiosByShape(runs: readonly RunRow[], baselineRuns: readonly RunRow[]): ShapeRatio[] {
  const ratios: ShapeRatio[] = [];
  for (const run of runs) {
    if (run.ops === 0 || run.note?.startsWith("new users")) continue;
    const same = baselineRuns.find(
      (other) =>
        other.ops > 0 &&
        other.client === run.client &&
        other.in_flight === run.in_flight &&
        other.shape === run.shape &&
        !other.note?.startsWith("new users"),
    );
    if (same && same.ops_per_service_cpu_s > 0)
      ratios.push({ shape: shapeOf(run), ratio: round(run.ops_per_service_cpu_s / same.ops_per_service_cpu_s, 2) });
  }
  return ratios;
}

/**
 * A scenario against its baseline at every shape: the headline ratio, the ratio per shape, and the
 * target met only when every h2load shape meets it (the Node clients' runs are listed, not judged:
 * such a client saturates its own core first).
 */
export function compareByShape(
  row: ScenarioResult,
  baseline: ScenarioResult,
  target: { atLeast: number; text: string } | undefined,
): ScenarioResult {
  const { ratio, meaning } = sameRunRatio(row, baseline);
  const byShape = ratiosByShape(row.runs ?? [], baseline.runs ?? []);
  const judged = byShape.filter((entry) => entry.shape.startsWith("h2load "));
  return {
    ...row,
    baseline: baseline.name,
    ratio_to_baseline: ratio,
    ratio_meaning: meaning,
    extra: { ...row.extra, ratio_by_shape: Object.fromEntries(byShape.map((entry) => [entry.shape, entry.ratio])) },
    ...(target
      ? {
          target: `${target.text} (at every h2load shape)`,
          met: row.skipped || judged.length === 0 ? null : judged.every((entry) => entry.ratio >= target.atLeast),
        }
      : {}),
  };
}
