import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { loadAuthConfig } from "../../services/auth/config.js";
import { authMigrations } from "../../services/auth/migrations/index.js";
import type { AuthDatabase } from "../../services/auth/store/schema.js";
import { ConfigError } from "../../services/shared/config/env.js";
import { createDatabase, type DatabaseHandle } from "../../services/shared/database/create-database.js";
import { migrateToLatest } from "../../services/shared/database/migrate.js";
import { createLogger } from "../../services/shared/logging.js";
import { connectAuthClient, startAuth } from "../fixtures/services.js";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/index.js";
import {
  callHeaders,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verificationToken,
  type AuthHarness,
} from "./auth-harness.js";

// SESSION_MAX_AGE: besides the 7-day sliding expiry, a session has an absolute end (RFC 9700,
// section 4.14.2) that no refresh moves; no refresh or access token outlives it, and a refresh after
// it is refused with its own reason.

const second = 1_000;
const day = 86_400_000;

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;
const expOf = (accessToken: string): number =>
  JSON.parse(Buffer.from(accessToken.split(".")[1]!, "base64url").toString("utf8")).exp;
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

describe("SESSION_MAX_AGE: a session's absolute end", () => {
  let h: AuthHarness;

  beforeAll(async () => {
    // The cleanup timer is far away: runs are explicit here.
    h = await startAuthHarness({ env: { SESSION_MAX_AGE: "10d", CLEANUP_INTERVAL: "1h" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const refresh = (refreshToken: string) => h.client.refreshToken({ refreshToken, deviceId: "device-1" });
  const sessionRow = (id: string) =>
    h.auth.handle.runtime.db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

  it("ends a session at its absolute end however often it is refreshed, and says so on a refresh after it", async () => {
    const email = uniqueEmail();
    const login = await signIn(h, email);
    const end = new Date(h.clock.now().getTime() + 10 * day);
    expect(await sessionRow(login.sessionId)).toMatchObject({ absolute_expires_at: end });

    // Five days in, the 7-day slide would reach past the end: the new refresh token stops at it.
    h.clock.advance(5 * day);
    const midway = await refresh(login.tokens!.refreshToken);
    expect(await sessionRow(login.sessionId)).toMatchObject({ expires_at: end, absolute_expires_at: end });
    const refreshed = await waitFor(() =>
      h.events.decoded("auth.session.refreshed").find((e) => e.sessionId === login.sessionId),
    );
    expect(seconds(new Date(Number(refreshed!.expiresAt!.seconds) * 1000))).toBe(seconds(end));
    const { sessions } = await h.client.listSessions(
      {},
      { headers: callHeaders({ accessToken: midway.tokens!.accessToken }) },
    );
    expect(Number(sessions.find((s) => s.id === login.sessionId)!.expiresAt!.seconds)).toBe(seconds(end));

    // A minute before the end, the access token is cut to that minute.
    h.clock.advance(5 * day - 60 * second);
    const last = await refresh(midway.tokens!.refreshToken);
    expect(last.tokens!.expiresIn).toBe(60n);
    expect(expOf(last.tokens!.accessToken)).toBe(seconds(end));

    // After the end: refused with its own reason. Nothing is left to revoke, so nothing is.
    h.clock.advance(2 * 60 * second);
    const refused = await failure(refresh(last.tokens!.refreshToken));
    expect(refused.code).toBe(Code.Unauthenticated);
    expect(reasonOf(refused)).toBe("SESSION_MAX_AGE_REACHED");
    expect(refused.rawMessage).toMatch(/maximum age/);
    expect(await sessionRow(login.sessionId)).toMatchObject({ revoked_at: null });
    expect(await h.client.validateToken({ accessToken: last.tokens!.accessToken })).toMatchObject({ valid: false });

    // The cleanup keeps the session's current token with the session, so the reason holds a day later.
    h.clock.advance(day);
    await h.auth.handle.domain.cleanup.runOnce();
    expect(reasonOf(await failure(refresh(last.tokens!.refreshToken)))).toBe("SESSION_MAX_AGE_REACHED");

    // Signing in again starts a new session with a new absolute end.
    const again = await signIn(h, email);
    expect(await sessionRow(again.sessionId)).toMatchObject({
      absolute_expires_at: new Date(h.clock.now().getTime() + 10 * day),
    });
  });

  it("gives a StepUp's access token no life beyond the session's absolute end", async () => {
    const short = await startAuth({ ...h.env, SESSION_MAX_AGE: "10m" }, { clock: h.clock, delivery: h.capture });
    try {
      const client = connectAuthClient(short.baseUrl);
      const email = uniqueEmail();
      const login = await signIn({ client, capture: h.capture }, email);
      const end = seconds(new Date(h.clock.now().getTime() + 10 * 60_000));
      h.clock.advance(8 * 60_000);
      const token = await verificationToken({ client, capture: h.capture }, email, OtpPurpose.STEP_UP);
      const stepped = await client.stepUp(
        { proof: { case: "verificationToken", value: token } },
        { headers: callHeaders({ accessToken: login.tokens!.accessToken }) },
      );
      expect(decodeJwt(stepped.accessToken).exp).toBe(end);
      expect(stepped.expiresIn).toBe(BigInt(end - seconds(h.clock.now())));
    } finally {
      await short.close();
    }
  });

  it("caps the first refresh token at sign-in when SESSION_MAX_AGE is shorter than the refresh lifetime", async () => {
    const short = await startAuth({ ...h.env, SESSION_MAX_AGE: "1d" }, { clock: h.clock, delivery: h.capture });
    try {
      const login = await signIn({ client: connectAuthClient(short.baseUrl), capture: h.capture }, uniqueEmail());
      const end = new Date(h.clock.now().getTime() + day);
      expect(await sessionRow(login.sessionId)).toMatchObject({ expires_at: end, absolute_expires_at: end });
      const created = await waitFor(() =>
        h.events.decoded("auth.session.created").find((e) => e.sessionId === login.sessionId),
      );
      expect(Number(created!.expiresAt!.seconds)).toBe(seconds(end));
      const tokens = await h.auth.handle.runtime.db
        .selectFrom("refresh_tokens")
        .select("expires_at")
        .where("session_id", "=", login.sessionId)
        .execute();
      expect(tokens).toEqual([{ expires_at: end }]);

      h.clock.advance(day);
      const refused = await failure(refresh(login.tokens!.refreshToken));
      expect(reasonOf(refused)).toBe("SESSION_MAX_AGE_REACHED");
    } finally {
      await short.close();
    }
  });

  it("is validated at start: a duration longer than 0, 30 days by default", () => {
    expect(loadAuthConfig({}).SESSION_MAX_AGE).toBe(30 * day);
    expect(loadAuthConfig({ SESSION_MAX_AGE: "90d" }).SESSION_MAX_AGE).toBe(90 * day);
    expect(() => loadAuthConfig({ SESSION_MAX_AGE: "0d" })).toThrow(ConfigError);
    expect(() => loadAuthConfig({ SESSION_MAX_AGE: "0d" })).toThrow(/SESSION_MAX_AGE/);
    expect(() => loadAuthConfig({ SESSION_MAX_AGE: "a month" })).toThrow(/SESSION_MAX_AGE/);
  });
});

describe("the session-absolute-end migration", () => {
  const logger = createLogger("test", "silent");
  let testDatabase: TestDatabase;
  let database: DatabaseHandle<AuthDatabase>;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    database = await createDatabase<AuthDatabase>({ url: testDatabase.url, dataDir: "", poolSize: 2, logger });
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it("gives existing sessions an end 30 days after sign-in and cuts their expiry and tokens back to it", async () => {
    const names = Object.keys(authMigrations).sort();
    const latest = names.indexOf("2026-12-06T22-00-00_session-absolute-end");
    const before = Object.fromEntries(names.slice(0, latest).map((name) => [name, authMigrations[name]!]));
    await migrateToLatest(database.db as Kysely<unknown>, before, logger);

    const now = new Date("2026-12-01T12:00:00Z");
    const ago = (days: number) => new Date(now.getTime() - days * day);
    const ahead = (days: number) => new Date(now.getTime() + days * day);
    await sql`insert into devices (id, user_id, device_id, device_name, device_type, os_name, os_version,
        browser_name, browser_version, fingerprint, user_agent, last_ip, last_used_at, created_at)
      values ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', 'd', '', '', '', '',
        '', '', '', '', '127.0.0.1', ${now}, ${ago(40)})`.execute(database.db);
    const sessions = [
      // Signed in 28 days ago and refreshed yesterday: its 7-day slide would run 5 days past the end.
      { id: "00000000-0000-4000-8000-000000000010", createdAt: ago(28), expiresAt: ahead(6), token: "aa" },
      // Signed in a day ago: already within its end.
      { id: "00000000-0000-4000-8000-000000000011", createdAt: ago(1), expiresAt: ahead(6), token: "bb" },
    ];
    for (const s of sessions) {
      await sql`insert into sessions (id, user_id, device_record_id, device_id, device_name, method, ip_address,
          user_agent, created_at, last_used_at, expires_at, access_expires_at, current_token_hash)
        values (${s.id}, '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'd', '',
          'otp', '127.0.0.1', '', ${s.createdAt}, ${ago(1)}, ${s.expiresAt}, ${now}, ${Buffer.from(s.token, "hex")})`.execute(
        database.db,
      );
      await sql`insert into refresh_tokens (token_hash, session_id, created_at, expires_at)
        values (${Buffer.from(s.token, "hex")}, ${s.id}, ${ago(1)}, ${s.expiresAt})`.execute(database.db);
    }

    await migrateToLatest(database.db as Kysely<unknown>, authMigrations, logger);

    const rows = await database.db
      .selectFrom("sessions")
      .innerJoin("refresh_tokens", "refresh_tokens.session_id", "sessions.id")
      .select([
        "sessions.id",
        "sessions.expires_at",
        "sessions.absolute_expires_at",
        "refresh_tokens.expires_at as token",
      ])
      .orderBy("sessions.id")
      .execute();
    expect(rows).toEqual([
      { id: sessions[0]!.id, expires_at: ahead(2), absolute_expires_at: ahead(2), token: ahead(2) },
      { id: sessions[1]!.id, expires_at: ahead(6), absolute_expires_at: ahead(29), token: ahead(6) },
    ]);
  });
});
