// Postgres and NATS for one benchmark run: throwaway servers from the test harness (installed with
// apt-get when missing), or the Postgres at BENCH_DATABASE_URL / TEST_DATABASE_URL. Everything the
// run creates is removed when it ends, however it ends.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinaries } from "../support/ensure-binaries.js";
import { startNats, type NatsInstance } from "../support/nats.js";
import { adminQuery, startPostgres, type PgInstance } from "../support/postgres.js";
import { TEST_ROOT_ENV, TEST_ROOT_PREFIX } from "../support/server-process.js";

export interface BenchInfra {
  /** Where Postgres is, said in the output. */
  postgresLabel: string;
  natsUrl: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(label: string): Promise<{ name: string; url: string }>;
  /** A URL of the admin database (for pg_stat_database). */
  adminUrl: string;
  close(): Promise<void>;
}

export async function startInfra(log: (line: string) => void): Promise<BenchInfra> {
  // The harness's dead-run cleanup knows this prefix, so a killed benchmark leaves nothing behind.
  const root = mkdtempSync(join(tmpdir(), `${TEST_ROOT_PREFIX}run-${process.pid}-bench-`));
  chmodSync(root, 0o755);
  process.env[TEST_ROOT_ENV] = root;
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));

  ensureBinaries((line) => log(line));
  const externalUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  let cluster: PgInstance | null = null;
  let adminUrl: string;
  if (externalUrl) {
    adminUrl = externalUrl;
  } else {
    cluster = await startPostgres({ maxConnections: 300 });
    adminUrl = cluster.url();
  }
  const nats: NatsInstance = await startNats();
  const prefix = `bench_${randomBytes(3).toString("hex")}_`;
  const created: string[] = [];

  return {
    postgresLabel: cluster
      ? `throwaway Postgres on 127.0.0.1:${cluster.port} (the test harness's settings: fsync=off, synchronous_commit on)`
      : "Postgres from BENCH_DATABASE_URL/TEST_DATABASE_URL",
    natsUrl: nats.url,
    adminUrl,
    async createDatabase(label) {
      const name = `${prefix}${label}`;
      await adminQuery(adminUrl, `create database "${name}"`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return { name, url: url.toString() };
    },
    async close() {
      await nats.stop().catch(() => undefined);
      if (cluster) {
        await cluster.stop();
      } else {
        for (const name of created) await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`);
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
