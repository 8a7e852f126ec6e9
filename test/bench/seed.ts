// Seeds the services' databases for the memory scenario: `count` users in the user database and,
// in the auth database, their identities (seed-<i>@example.com), one device and one active session
// each, with the session's current refresh token. One INSERT ... SELECT generate_series per table,
// ids derived from i (md5), so a million rows take seconds, not minutes.
// Standalone: `npx tsx test/bench/seed.ts AUTH_DATABASE_URL USER_DATABASE_URL [count]`
// (after the services have migrated those databases).
import { pathToFileURL } from "node:url";
import pg from "pg";

export interface SeedResult {
  count: number;
  seconds: number;
  tables: Record<string, number>;
}

const id = (kind: string) => `md5('${kind}-' || i)::uuid`;

const authStatements = (count: number) => [
  `insert into identities (identifier, identifier_type, user_id, created_at)
   select 'seed-' || i || '@example.com', 'email', ${id("user")}, now() - interval '30 days'
   from generate_series(1, ${count}) as i`,
  `insert into devices (id, user_id, device_id, device_name, device_type, os_name, os_version, browser_name,
     browser_version, fingerprint, user_agent, last_ip, last_used_at, created_at)
   select ${id("device")}, ${id("user")}, 'seed-device-' || i, 'Seed phone', 'mobile', 'iOS', '17.0', 'Mobile Safari',
     '17.0', md5('fp-' || i), 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)', '127.0.0.1', now(), now() - interval '30 days'
   from generate_series(1, ${count}) as i`,
  `insert into sessions (id, user_id, device_record_id, device_id, device_name, method, ip_address, user_agent,
     created_at, last_used_at, expires_at, absolute_expires_at, access_expires_at, current_token_hash)
   select ${id("session")}, ${id("user")}, ${id("device")}, 'seed-device-' || i, 'Seed phone', 'otp', '127.0.0.1',
     'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)', now() - interval '1 day', now(), now() + interval '6 days',
     now() + interval '29 days', now() + interval '10 minutes', sha256(('rt-' || i)::bytea)
   from generate_series(1, ${count}) as i`,
  `insert into refresh_tokens (token_hash, session_id, created_at, expires_at)
   select sha256(('rt-' || i)::bytea), ${id("session")}, now() - interval '1 day', now() + interval '6 days'
   from generate_series(1, ${count}) as i`,
];

const userStatements = (count: number) => [
  `insert into users (id, email, email_verified, username, name, status, lifecycle_state, referral_code,
     profile_completion_percent, created_at, updated_at, version)
   select ${id("user")}, 'seed-' || i || '@example.com', true, 'seed_' || i, 'Seed User ' || i, 'active', 'active',
     'SEED' || upper(to_hex(i)), 30, now() - interval '30 days', now(), 1
   from generate_series(1, ${count}) as i`,
];

async function run(url: string, statements: string[], tables: Record<string, number>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("set synchronous_commit = off");
    for (const statement of statements) {
      const result = await client.query(statement);
      const table = /insert into (\w+)/.exec(statement)?.[1] ?? "?";
      tables[table] = (tables[table] ?? 0) + (result.rowCount ?? 0);
    }
    await client.query("analyze");
  } finally {
    await client.end();
  }
}

/** Throws (with Postgres's message) when a table or column the seed needs is missing. */
export async function seed(authUrl: string, userUrl: string, count = 1_000_000): Promise<SeedResult> {
  const began = performance.now();
  const tables: Record<string, number> = {};
  await Promise.all([run(authUrl, authStatements(count), tables), run(userUrl, userStatements(count), tables)]);
  return { count, seconds: Math.round((performance.now() - began) / 100) / 10, tables };
}

/** The seeded account number i, for signing in as a returning user among a million. */
export function seededEmail(i: number): string {
  return `seed-${i}@example.com`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [authUrl, userUrl, count] = process.argv.slice(2);
  if (!authUrl || !userUrl) {
    process.stderr.write("usage: tsx test/bench/seed.ts AUTH_DATABASE_URL USER_DATABASE_URL [count]\n");
    process.exit(64);
  }
  const result = await seed(authUrl, userUrl, count ? Number(count) : undefined);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
