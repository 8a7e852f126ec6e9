// Vitest global setup: runs once per `npm test`, in the main process, before any test file.
// Installs missing server binaries, starts the run's shared Postgres (unless TEST_DATABASE_URL is
// given) and hands its URL to the workers; the returned teardown stops it and removes every
// throwaway directory of the run. Servers started here or in workers also die with the process
// that started them (see server-process.ts), so an interrupted run leaves nothing running.
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ensureBinaries, postgresOsUser } from "./ensure-binaries.js";
import { adminQuery, initDataDir, PG_TEMPLATE_ENV, type PgInstance, startPostgres } from "./postgres.js";
import { TEST_ROOT_ENV, TEST_ROOT_PREFIX } from "./server-process.js";

// What the workers read with inject() (test-database.ts).
declare module "vitest" {
  export interface ProvidedContext {
    /** URL of a database on the shared cluster whose user may CREATE DATABASE. */
    pgAdminUrl: string;
    /** Prefix of every database this run creates, so the teardown can drop leftovers. */
    testDatabasePrefix: string;
  }
}

const log = (line: string) => console.log(`[test harness] ${line}`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const began = performance.now();
  removeDirsOfDeadRuns();
  // Workers inherit the environment, so this is how they find the run's folder and Postgres template.
  const root = mkdtempSync(join(tmpdir(), `${TEST_ROOT_PREFIX}run-${process.pid}-`));
  chmodSync(root, 0o755); // the postgres OS user keeps its data directories in here
  process.env[TEST_ROOT_ENV] = root;
  // Vitest exits on SIGINT/SIGTERM without running the teardown below.
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));

  const binaries = ensureBinaries(log);
  const externalUrl = process.env.TEST_DATABASE_URL;
  if (binaries.pgBinDir === null && !externalUrl) {
    throw new Error(
      "Postgres server binaries are missing and could not be installed; install postgresql or set TEST_DATABASE_URL",
    );
  }
  if (binaries.natsServer === null && !process.env.NATS_URL) {
    throw new Error("nats-server is missing and could not be installed; install nats-server or set NATS_URL");
  }

  if (binaries.pgBinDir !== null) {
    // One initdb per run; every cluster of the run (shared or a fault test's own) starts from a copy.
    const template = join(root, "pg-template");
    const user = postgresOsUser();
    mkdirSync(template, { mode: 0o700 });
    if (user) chownSync(template, user.uid, user.gid);
    initDataDir(binaries.pgBinDir, template, user);
    process.env[PG_TEMPLATE_ENV] = template;
  }

  let cluster: PgInstance | null = null;
  let adminUrl: string;
  if (externalUrl) {
    adminUrl = externalUrl;
  } else {
    cluster = await startPostgres();
    adminUrl = cluster.url();
  }
  const prefix = `test_${randomBytes(3).toString("hex")}_`;
  project.provide("pgAdminUrl", adminUrl);
  project.provide("testDatabasePrefix", prefix);
  log(
    `ready in ${Math.round(performance.now() - began)} ms: Postgres ${cluster ? `throwaway on port ${cluster.port}` : "from TEST_DATABASE_URL"}, ` +
      `NATS ${binaries.natsServer ? `throwaway servers (${binaries.natsServer})` : "from NATS_URL"}`,
  );

  return async () => {
    if (cluster) {
      await cluster.stop();
    } else {
      await dropDatabasesWithPrefix(adminUrl, prefix);
    }
    rmSync(root, { recursive: true, force: true });
  };
}

/** On someone else's Postgres, leave nothing behind that a test forgot to drop. */
async function dropDatabasesWithPrefix(adminUrl: string, prefix: string): Promise<void> {
  const { rows } = await adminQuery(adminUrl, `select datname from pg_database where datname like '${prefix}%'`);
  for (const row of rows as Array<{ datname: string }>) {
    await adminQuery(adminUrl, `drop database if exists "${row.datname}" with (force)`);
  }
}

/** Folders of runs whose process is gone (killed before its teardown); their servers died with it. */
function removeDirsOfDeadRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = new RegExp(`^${TEST_ROOT_PREFIX}run-(\\d+)-`).exec(name)?.[1];
    if (pid !== undefined && !isAlive(Number(pid))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
