// Per-test databases on the run's shared Postgres cluster (started by the global setup, or the one
// at TEST_DATABASE_URL). CREATE DATABASE from template1 takes tens of milliseconds, so every test
// file, and each service within it, gets a database of its own. The keys read by inject() are
// declared by global-setup.ts, which provides them.
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { adminQuery } from "./postgres.js";

export interface TestDatabase {
  /** Connection URL of the new, empty database. */
  url: string;
  /** Drops it, closing any connection still open to it. */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject("pgAdminUrl");
  const name = `${inject("testDatabasePrefix")}${randomBytes(6).toString("hex")}`;
  await adminQuery(adminUrl, `create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`);
    },
  };
}

/**
 * Sessions of the database waiting for a lock, for a test that holds one open and must know that a
 * call now waits on it. Asked on a connection of its own: inside a transaction, pg_stat_activity is a
 * snapshot taken at its first read.
 */
export async function lockWaiters(database: TestDatabase): Promise<number> {
  const { rows } = await adminQuery(
    database.url,
    "select count(*)::integer as count from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
  );
  return Number(rows[0]?.count ?? 0);
}
