// After a fault: is every change that a client was told succeeded still in the databases?
import pg from "pg";
import type { Ledger } from "./workload.js";

async function query<Row extends pg.QueryResultRow>(url: string, text: string, values: unknown[]): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Problems found (empty when every acknowledged change is there). */
export async function missingCommittedChanges(ledger: Ledger, authUrl: string, userUrl: string): Promise<string[]> {
  const problems: string[] = [];
  const ok = ledger.calls.filter((call) => call.code === "ok").map((call) => call.step);

  const sent = ok.flatMap((step) => (step.rpc === "SendOtp" ? [step.identifier] : []));
  const codes = new Set(
    (
      await query<{ identifier: string }>(authUrl, "select identifier from otp_codes where identifier = any($1)", [
        sent,
      ])
    ).map((row) => row.identifier),
  );
  for (const identifier of sent)
    if (!codes.has(identifier)) problems.push(`no otp_codes row for acknowledged SendOtp ${identifier}`);

  const sessionIds = ok.flatMap((step) => (step.rpc === "Login" && step.sessionId ? [step.sessionId] : []));
  const sessions = new Set(
    (await query<{ id: string }>(authUrl, "select id from sessions where id = any($1::uuid[])", [sessionIds])).map(
      (row) => row.id,
    ),
  );
  for (const id of sessionIds) if (!sessions.has(id)) problems.push(`no sessions row for acknowledged Login ${id}`);

  const created = ok.flatMap((step) => (step.rpc === "CreateUser" ? [step.userId] : []));
  const names = new Map(
    (
      await query<{ id: string; name: string }>(userUrl, "select id, name from users where id = any($1::uuid[])", [
        created,
      ])
    ).map((row) => [row.id, row.name]),
  );
  for (const id of created) if (!names.has(id)) problems.push(`no users row for acknowledged CreateUser ${id}`);

  // The name is the last acknowledged UpdateMe's, or that of the failed attempt right after it
  // (whose transaction may have committed before its answer was lost).
  const allowed = new Map<string, Set<string>>();
  const settled = new Set<string>();
  for (const call of ledger.calls) {
    if (call.step.rpc !== "UpdateMe" || settled.has(call.step.userId)) continue;
    if (call.code === "ok") {
      allowed.set(call.step.userId, new Set([call.step.name]));
    } else {
      allowed.set(call.step.userId, new Set([...(allowed.get(call.step.userId) ?? []), call.step.name]));
      settled.add(call.step.userId);
    }
  }
  for (const [userId, candidates] of allowed) {
    const acknowledged = ok.some((step) => step.rpc === "UpdateMe" && step.userId === userId);
    if (!acknowledged) continue;
    const name = names.get(userId);
    if (name === undefined || !candidates.has(name))
      problems.push(
        `user ${userId} is named ${JSON.stringify(name)}, expected one of ${JSON.stringify([...candidates])}`,
      );
  }
  return problems;
}

/** Outbox rows not yet published, in one database. */
export async function unsentOutboxRows(url: string): Promise<number> {
  const [row] = await query<{ count: string }>(url, "select count(*) from outbox where sent_at is null", []);
  return Number(row!.count);
}

/**
 * Users who signed in for the first time (an acknowledged Login) but whose verified identifier has
 * not reached the user database: the user service's durable consumer of auth.user.registered has
 * not applied their event (yet).
 */
export async function verifiedIdentifiersMissing(ledger: Ledger, userUrl: string): Promise<string[]> {
  const signedIn = ledger.calls.flatMap((call) =>
    call.code === "ok" && call.step.rpc === "Login" && call.step.userId ? [call.step.userId] : [],
  );
  const kept = new Set(
    (
      await query<{ user_id: string }>(
        userUrl,
        "select user_id from verified_identifiers where user_id = any($1::uuid[])",
        [signedIn],
      )
    ).map((row) => row.user_id),
  );
  return signedIn.filter((userId) => !kept.has(userId));
}
