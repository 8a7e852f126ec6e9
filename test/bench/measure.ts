// Wraps one load run with the costs the issue asks for: CPU seconds of each measured process
// (/proc utime+stime), its peak RSS in the window, and Postgres write transactions (commits).
import pg from "pg";
import type { NodeProcess } from "../support/node-process.js";
import { cpuSeconds, peakRssMb, resetPeakRss } from "./proc-stats.js";

export interface Costs {
  /** CPU seconds used by each process during the window. */
  cpuSeconds: Record<string, number>;
  totalCpuSeconds: number;
  /** Peak RSS of each process during the window (since start when the peak cannot be reset). */
  peakRssMb: Record<string, number>;
  commits: number;
}

/**
 * Counts write transactions (commits that reach the WAL) on the whole cluster, from the transaction
 * id counter: exact and immediate. pg_stat_database's xact_commit would also count read-only
 * transactions, but a backend reports it only when idle and at most once a second, and otherwise up
 * to 10 s later (PGSTAT_IDLE_INTERVAL): too late and too coarse for runs of a few seconds. One
 * scenario runs at a time, so the cluster-wide count is the scenario's.
 */
export class CommitCounter {
  private readonly client: pg.Client;
  private constructor(client: pg.Client) {
    this.client = client;
  }

  static async open(adminUrl: string): Promise<CommitCounter> {
    const client = new pg.Client({ connectionString: adminUrl });
    // Postgres stopping at the end of the run must not crash us.
    client.on("error", () => undefined);
    await client.connect();
    return new CommitCounter(client);
  }

  /** Transaction ids assigned so far (this query assigns none). */
  async writeTransactions(): Promise<number> {
    const { rows } = await this.client.query<{ next: string }>(
      "select pg_snapshot_xmax(pg_current_snapshot())::text as next",
    );
    return Number(rows[0]?.next ?? 0);
  }

  /** pg_stat_database's committed transactions (reads included) of the given databases, for reference. */
  async statCommits(databases: string[]): Promise<number> {
    const { rows } = await this.client.query<{ commits: string }>(
      "select coalesce(sum(xact_commit), 0)::text as commits from pg_stat_database where datname = any($1)",
      [databases],
    );
    return Number(rows[0]?.commits ?? 0);
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

export async function measure<T>(
  processes: NodeProcess[],
  counter: CommitCounter,
  run: () => Promise<T>,
): Promise<{ result: T; costs: Costs }> {
  const commitsBefore = await counter.writeTransactions();
  for (const proc of processes) resetPeakRss(proc.pid);
  const cpuBefore = processes.map((proc) => cpuSeconds(proc.pid));
  const result = await run();
  const cpuAfter = processes.map((proc) => cpuSeconds(proc.pid));
  const peaks = processes.map((proc) => peakRssMb(proc.pid));
  const commitsAfter = await counter.writeTransactions();
  const cpu: Record<string, number> = {};
  const rss: Record<string, number> = {};
  processes.forEach((proc, index) => {
    cpu[proc.name] = cpuAfter[index]! - cpuBefore[index]!;
    rss[proc.name] = peaks[index]!;
  });
  return {
    result,
    costs: {
      cpuSeconds: cpu,
      totalCpuSeconds: Object.values(cpu).reduce((a, b) => a + b, 0),
      peakRssMb: rss,
      commits: commitsAfter - commitsBefore,
    },
  };
}
