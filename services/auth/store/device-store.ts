import { sql, type Kysely, type RawBuilder } from "kysely";
import { guaranteed } from "../../shared/guaranteed.js";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { insertOutboxRowsWhere } from "../../shared/outbox/outbox-store.js";
import type { AuthDatabase } from "./schema.js";
import { type NewSession, sessionInsertCtes } from "./session-store.js";

export interface DeviceSighting {
  /** Id for the device record, used only when the device is new to the user. */
  newRecordId: string;
  userId: string;
  deviceId: string;
  deviceName: string;
  deviceType: string;
  osName: string;
  osVersion: string;
  browserName: string;
  browserVersion: string;
  fingerprint: string;
  userAgent: string;
  ip: string;
  /** The IP's network (domain/networks.ts), null when there is none to record. */
  network: string | null;
  /** Whether the device starts trusted if this sign-in registers it (the account's first device). */
  trustOnInsert: boolean;
  now: Date;
}

export interface SignInFactsRow {
  deviceRecordId: string;
  newDevice: boolean;
  trusted: boolean;
  blocked: boolean;
  /** The IP was seen on the user's sessions or devices before this statement. */
  knownIp: boolean;
  /** The device was seen on this network before, or has no networks recorded to compare with. */
  knownNetwork: boolean;
  restriction: { suspended: boolean; suspendedUntil: Date | null; banned: boolean; deleted: boolean } | null;
  identifiers: Array<{ type: string; identifier: string }>;
}

/**
 * Sign-in's device statement: registers the device for the user or updates its traits, last IP and
 * last use and recent networks (the upsert locks the row, so sign-ins from one device queue), and
 * returns in the same round trip what the sign-in checks and the access token need. The checks read
 * the database as it was before this statement, so a device, IP or network is "known" only from
 * earlier sign-ins and refreshes.
 */
export async function registerDeviceForSignIn(db: Kysely<AuthDatabase>, seen: DeviceSighting): Promise<SignInFactsRow> {
  const { rows } = await sql<SignInFactsSqlRow>`
    with device as (${deviceUpsert(seen)})
    ${signInFactsSelect(seen)}`.execute(db);
  return signInFactsFrom(
    guaranteed(rows[0], "the upsert returns the device row, inserted or updated, joined to one row"),
  );
}

/** What startSessionIfAsGuessed writes when the sign-in turns out as the caller guessed. */
export interface GuessedSession {
  /** The device is new to the user (a first sign-in), or known. */
  newDevice: boolean;
  /** The session row; its device record id is the device statement's. */
  session: Omit<NewSession, "deviceRecordId">;
  /** Events recorded whatever the device's trust. */
  events: OutboxRow[];
  /** Events recorded only when the device turns out trusted, or untrusted (auth.login names it). */
  ifTrusted: OutboxRow[];
  ifUntrusted: OutboxRow[];
}

/**
 * registerDeviceForSignIn and insertSession in one statement, for a caller that guessed the facts:
 * the session, its first refresh token and the events are written only if the device is as new as
 * guessed, not blocked, trusted or seen before from this IP and network, and the user is not
 * restricted (no restriction row, or none set): then the suspicious-login checks raise nothing the
 * device could change, and the caller's plan, made before, stands. Otherwise only the device is
 * registered, and the caller decides on the facts returned and writes the session as usual.
 */
export async function startSessionIfAsGuessed(
  db: Kysely<AuthDatabase>,
  seen: DeviceSighting,
  guess: GuessedSession,
): Promise<SignInFactsRow & { started: boolean }> {
  const started = sql`exists (select 1 from go)`;
  const trusted = sql`(select trusted from facts)`;
  const { rows } = await sql<SignInFactsSqlRow & { started: boolean }>`
    with device as (${deviceUpsert(seen)}),
    facts as (${signInFactsSelect(seen)}),
    go as (
      select 1 from facts
      where facts.inserted = ${guess.newDevice} and not facts.blocked
        and (facts.suspended is null or not (facts.suspended or facts.banned or facts.deleted))
        and (facts.trusted or (facts.known_ip and facts.known_network))
    ), ${sessionInsertCtes(guess.session, sql`(select id from facts)`, started)}, events as (
      ${insertOutboxRowsWhere([
        ...guess.events.map((row) => ({ row, when: started })),
        ...guess.ifTrusted.map((row) => ({ row, when: sql`${started} and ${trusted}` })),
        ...guess.ifUntrusted.map((row) => ({ row, when: sql`${started} and not ${trusted}` })),
      ])}
    )
    select facts.*, ${started} as started from facts`.execute(db);
  const row = guaranteed(rows[0], "the upsert returns the device row, inserted or updated, joined to one row");
  return { ...signInFactsFrom(row), started: row.started };
}

interface SignInFactsSqlRow {
  id: string;
  inserted: boolean;
  trusted: boolean;
  blocked: boolean;
  known_ip: boolean;
  known_network: boolean;
  suspended: boolean | null;
  suspended_until: Date | null;
  banned: boolean | null;
  deleted: boolean | null;
  identifiers: Array<{ type: string; identifier: string }>;
}

/** Registers the device or updates its traits, last IP, last use and recent networks; locks its row. */
function deviceUpsert(seen: DeviceSighting): RawBuilder<unknown> {
  return sql`
      insert into devices as d (id, user_id, device_id, device_name, device_type, os_name, os_version,
        browser_name, browser_version, fingerprint, user_agent, last_ip, last_used_at, created_at, trusted, networks)
      values (${seen.newRecordId}, ${seen.userId}, ${seen.deviceId}, ${seen.deviceName}, ${seen.deviceType},
        ${seen.osName}, ${seen.osVersion}, ${seen.browserName}, ${seen.browserVersion}, ${seen.fingerprint},
        ${seen.userAgent}, ${seen.ip}, ${seen.now}, ${seen.now}, ${seen.trustOnInsert},
        ${recentNetworks(sql`'{}'::text[]`, seen.network)})
      on conflict (user_id, device_id) do update set
        device_name = excluded.device_name, device_type = excluded.device_type, os_name = excluded.os_name,
        os_version = excluded.os_version, browser_name = excluded.browser_name,
        browser_version = excluded.browser_version, fingerprint = excluded.fingerprint,
        user_agent = excluded.user_agent, last_ip = excluded.last_ip, last_used_at = excluded.last_used_at,
        networks = ${recentNetworks(sql`d.networks`, seen.network)}
      returning d.id, d.trusted, d.blocked, (d.xmax = 0) as inserted`;
}

/** The sign-in facts over the `device` CTE (deviceUpsert), read as the database was before the statement. */
function signInFactsSelect(seen: DeviceSighting): RawBuilder<unknown> {
  return sql`
    select device.id, device.inserted, device.trusted, device.blocked,
      r.suspended, r.suspended_until, r.banned, r.deleted,
      (exists (select 1 from sessions s where s.user_id = ${seen.userId} and s.ip_address = ${seen.ip})
        or exists (select 1 from devices o where o.user_id = ${seen.userId} and o.last_ip = ${seen.ip})) as known_ip,
      (${seen.network}::text is null or exists (select 1 from devices o
        where o.user_id = ${seen.userId} and o.device_id = ${seen.deviceId}
          and (cardinality(o.networks) = 0 or ${seen.network}::text = any(o.networks)))) as known_network,
      (select coalesce(json_agg(json_build_object('type', i.identifier_type, 'identifier', i.identifier)), '[]'::json)
        from identities i where i.user_id = ${seen.userId}) as identifiers
    from device
    left join user_restrictions r on r.user_id = ${seen.userId}`;
}

function signInFactsFrom(row: SignInFactsSqlRow): SignInFactsRow {
  return {
    deviceRecordId: row.id,
    newDevice: row.inserted,
    trusted: row.trusted,
    blocked: row.blocked,
    knownIp: row.known_ip,
    knownNetwork: row.known_network,
    restriction:
      row.suspended === null
        ? null
        : {
            suspended: row.suspended,
            suspendedUntil: row.suspended_until,
            banned: row.banned ?? false,
            deleted: row.deleted ?? false,
          },
    identifiers: row.identifiers,
  };
}

/** Networks a device keeps for the "new network" check: enough for home, work and a few travels. */
export const networkHistorySize = 10;

/**
 * `networks` with `network` moved to the front, at most networkHistorySize long; unchanged when
 * there is no network. For the sign-in upsert here and the refresh statement.
 */
export function recentNetworks(networks: RawBuilder<unknown>, network: string | null): RawBuilder<string[]> {
  return sql<string[]>`case when ${network}::text is null then ${networks}
    else (array[${network}::text] || array_remove(${networks}, ${network}::text))[1:${sql.lit(networkHistorySize)}] end`;
}
