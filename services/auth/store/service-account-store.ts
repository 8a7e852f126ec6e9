import { sql, type Kysely } from "kysely";
import type { AuthDatabase } from "./schema.js";

// The queries of service accounts (the operator's command) and of the client credentials grant.

/** A service account as operators see it: never its secret or the secret's hash. */
export interface ServiceAccountRecord {
  clientId: string;
  name: string;
  scopes: string[];
  createdAt: Date;
  secretRotatedAt: Date | null;
  disabledAt: Date | null;
}

/** What checking a client's credentials needs. */
export interface ClientCredentialsRecord {
  clientId: string;
  secretHash: Uint8Array;
  scopes: string[];
  disabled: boolean;
}

const publicColumns = ["client_id", "name", "scopes", "created_at", "secret_rotated_at", "disabled_at"] as const;

function recordFromRow(row: {
  client_id: string;
  name: string;
  scopes: string[];
  created_at: Date;
  secret_rotated_at: Date | null;
  disabled_at: Date | null;
}): ServiceAccountRecord {
  return {
    clientId: row.client_id,
    name: row.name,
    scopes: row.scopes,
    createdAt: row.created_at,
    secretRotatedAt: row.secret_rotated_at,
    disabledAt: row.disabled_at,
  };
}

/** Inserts a new account; false when the name is taken (by an account enabled or disabled). */
export async function insertServiceAccount(
  db: Kysely<AuthDatabase>,
  account: { clientId: string; name: string; secretHash: Uint8Array; scopes: string[]; now: Date },
): Promise<boolean> {
  const inserted = await db
    .insertInto("service_accounts")
    .values({
      client_id: account.clientId,
      name: account.name,
      secret_hash: account.secretHash,
      scopes: account.scopes,
      created_at: account.now,
      secret_rotated_at: null,
      disabled_at: null,
    })
    .onConflict((oc) => oc.column("name").doNothing())
    .returning("client_id")
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function listServiceAccounts(db: Kysely<AuthDatabase>): Promise<ServiceAccountRecord[]> {
  const rows = await db.selectFrom("service_accounts").select(publicColumns).orderBy("name").execute();
  return rows.map(recordFromRow);
}

/** The account of this name, its row locked until the transaction ends. */
export async function lockServiceAccountByName(
  db: Kysely<AuthDatabase>,
  name: string,
): Promise<ServiceAccountRecord | undefined> {
  const row = await db
    .selectFrom("service_accounts")
    .select(publicColumns)
    .where("name", "=", name)
    .forUpdate()
    .executeTakeFirst();
  return row && recordFromRow(row);
}

/** Replaces the secret: the old one stops matching with this statement's commit. */
export async function replaceServiceAccountSecret(
  db: Kysely<AuthDatabase>,
  clientId: string,
  secretHash: Uint8Array,
  now: Date,
): Promise<void> {
  await db
    .updateTable("service_accounts")
    .set({ secret_hash: secretHash, secret_rotated_at: now })
    .where("client_id", "=", clientId)
    .execute();
}

export async function disableServiceAccount(db: Kysely<AuthDatabase>, clientId: string, now: Date): Promise<void> {
  await db.updateTable("service_accounts").set({ disabled_at: now }).where("client_id", "=", clientId).execute();
}

export async function findClientCredentials(
  db: Kysely<AuthDatabase>,
  clientId: string,
): Promise<ClientCredentialsRecord | undefined> {
  const row = await db
    .selectFrom("service_accounts")
    .select(["client_id", "secret_hash", "scopes", "disabled_at"])
    .where("client_id", "=", clientId)
    .executeTakeFirst();
  return (
    row && {
      clientId: row.client_id,
      secretHash: row.secret_hash,
      scopes: row.scopes,
      disabled: row.disabled_at !== null,
    }
  );
}

/** Failed authentications of one client from one network; the domain's lockout rule reads and writes it. */
export interface ClientAuthGuard {
  failures: number;
  lockedUntil: Date | null;
  lastFailureAt: Date | null;
}

/**
 * Locks the guard row of failed authentications of one client from one network (creating it on
 * first use) and reads it: concurrent attempts queue on the lock and each sees the failures the
 * previous one wrote.
 */
export async function lockClientAuthGuard(db: Kysely<AuthDatabase>, key: string, now: Date): Promise<ClientAuthGuard> {
  const { rows } = await sql<{ failures: number; locked_until: Date | null; last_failure_at: Date | null }>`
    insert into client_auth_guards as g (key, failures, updated_at) values (${key}, 0, ${now})
    on conflict (key) do update set updated_at = g.updated_at
    returning failures, locked_until, last_failure_at`.execute(db);
  const [row] = rows;
  if (!row) throw new Error("client_auth_guards: the upsert returned no row");
  return { failures: row.failures, lockedUntil: row.locked_until, lastFailureAt: row.last_failure_at };
}

/** Writes the guard after a failure (`guard` counts it) or a success (`guard` cleared). */
export async function writeClientAuthGuard(
  db: Kysely<AuthDatabase>,
  key: string,
  guard: ClientAuthGuard,
  now: Date,
): Promise<void> {
  await db
    .updateTable("client_auth_guards")
    .set({
      failures: guard.failures,
      locked_until: guard.lockedUntil,
      last_failure_at: guard.lastFailureAt,
      updated_at: now,
    })
    .where("key", "=", key)
    .execute();
}
