import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose, type AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { LifecycleState, type UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import { eventCatalog, type EventSubject } from "../../services/shared/events/catalog.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { capturingDelivery, startAuth, startUser, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, startNats, waitFor, type NatsInstance, type TestDatabase } from "../support/index.js";
import { authClientFrom, userClientFrom } from "./helpers/clients.js";
import { bearer, signIn, verifyIdentifier, type SignedIn } from "./helpers/sign-in.js";
import { recordSurvival } from "./helpers/survival-log.js";

// 30 concurrent callers on one thing, spread over two instances of each service sharing one
// database and one NATS: limits, attempt counts, single-use tokens, refresh rotation, profile
// creation and username claims must come out exact, and a suspension or a deletion racing
// refreshes must leave no session alive.

type Answer = "ok" | Code;
const callers = 30;

async function answers(calls: Array<Promise<unknown>>): Promise<Answer[]> {
  return Promise.all(
    calls.map((call) =>
      call.then(
        () => "ok" as const,
        (error: unknown) => ConnectError.from(error).code,
      ),
    ),
  );
}

function tally(list: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of list) {
    // gRPC's spelling (RESOURCE_EXHAUSTED), not connect-es's enum key (ResourceExhausted).
    const key = answer === "ok" ? "OK" : Code[answer].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe("races across two instances of each service", () => {
  let authDatabase: TestDatabase;
  let userDatabase: TestDatabase;
  let nats: NatsInstance;
  const authInstances: Array<RunningService<AuthServiceHandle>> = [];
  const userInstances: Array<RunningService<UserServiceHandle>> = [];
  let auths: Array<Client<typeof AuthService>>;
  let users: Array<Client<typeof UserService>>;
  let db: { auth: pg.Pool; user: pg.Pool };
  const delivery = capturingDelivery();
  let admin: SignedIn;
  let userCounter = 0;

  const auth = (index: number) => auths[index % 2]!;
  const user = (index: number) => users[index % 2]!;

  beforeAll(async () => {
    [authDatabase, userDatabase, nats] = await Promise.all([createTestDatabase(), createTestDatabase(), startNats()]);
    const authEnv = {
      AUTH_DATABASE_URL: authDatabase.url,
      NATS_URL: nats.url,
      OTP_DELIVERY: "nats",
      TRUSTED_PROXIES: "127.0.0.1,::1",
      OTP_IP_RATE_LIMIT_MAX_REQUESTS: "40",
      ADMIN_IDENTIFIERS: "admin@race.example",
    };
    for (let index = 0; index < 2; index++) authInstances.push(await startAuth(authEnv, { delivery }));
    for (const instance of authInstances) {
      userInstances.push(
        await startUser({
          USER_DATABASE_URL: userDatabase.url,
          NATS_URL: nats.url,
          AUTH_JWKS_URL: `${instance.baseUrl}/.well-known/jwks.json`,
        }),
      );
    }
    auths = authInstances.map((instance) => authClientFrom(instance.baseUrl));
    users = userInstances.map((instance) => userClientFrom(instance.baseUrl));
    db = {
      auth: new pg.Pool({ connectionString: authDatabase.url, max: 2 }),
      user: new pg.Pool({ connectionString: userDatabase.url, max: 2 }),
    };
    admin = await newUser("admin@race.example");
  });

  afterAll(async () => {
    await Promise.allSettled([db?.auth.end(), db?.user.end()]);
    await Promise.allSettled([...userInstances, ...authInstances].map((instance) => instance.close()));
    await nats?.stop();
    await Promise.allSettled([authDatabase?.drop(), userDatabase?.drop()]);
  });

  /** A signed-in user with a profile (username derived from the identifier). */
  async function newUser(identifier = `person${++userCounter}@race.example`, deviceId = "device-1"): Promise<SignedIn> {
    const session = await signIn(auth(0), delivery, identifier, deviceId);
    if (session.newUser) {
      const username = `r_${identifier.split("@")[0]!.replace(/[^a-z0-9]/g, "_")}`;
      await user(0).createUser({ username, name: username }, bearer(session.accessToken));
    }
    return session;
  }

  async function outboxEvents<S extends EventSubject>(pool: pg.Pool, subject: S) {
    const { rows } = await pool.query<{ payload: Buffer }>("select payload from outbox where subject = $1", [subject]);
    return rows.map((row) => fromBinary(eventCatalog[subject], row.payload));
  }

  /** The hits stored for each send-limit key like `pattern` (rate_limits), in key order. */
  async function sendLimitHits(pattern: string): Promise<number[]> {
    const { rows } = await db.auth.query<{ hits: number }>(
      "select cardinality(hits) as hits from rate_limits where key like $1 order by key",
      [pattern],
    );
    return rows.map((row) => row.hits);
  }

  it("SendOtp: of 30 concurrent requests for one identifier, exactly 3 get a code, and only those 3 count against their network", async () => {
    const identifier = "one-identifier@race.example";
    const request = { identifier, identifierType: IdentifierType.EMAIL, purpose: OtpPurpose.LOGIN, deviceId: "d" };
    // A network of their own, so its window holds only these requests. The identifier has no window
    // yet: racers whose statement began before the first send committed find room in it, and those
    // its exact count then refuses must give their network hit back.
    const oneNetwork = authInstances.map((instance) => authClientFrom(instance.baseUrl, () => "203.0.113.20"));
    const result = await answers(
      Array.from({ length: callers }, (_, index) => oneNetwork[index % 2]!.sendOtp(request)),
    );
    expect(tally(result)).toEqual({ OK: 3, RESOURCE_EXHAUSTED: 27 });
    const { rows } = await db.auth.query("select 1 from otp_codes where identifier = $1", [identifier]);
    expect(rows).toHaveLength(3);
    expect(await sendLimitHits("otp-send:ip:203.0.113.20")).toEqual([3]);
  });

  it("SendOtp: of 60 concurrent requests from one client address, exactly the per-IP limit of 40 are served", async () => {
    const sameAddress = authInstances.map((instance) => authClientFrom(instance.baseUrl, () => "203.0.113.9"));
    const result = await answers(
      Array.from({ length: 60 }, (_, index) =>
        sameAddress[index % 2]!.sendOtp({
          identifier: `ip-${index}@race.example`,
          identifierType: IdentifierType.EMAIL,
          purpose: OtpPurpose.LOGIN,
          deviceId: "d",
        }),
      ),
    );
    expect(tally(result)).toEqual({ OK: 40, RESOURCE_EXHAUSTED: 20 });
    // The 20 the network refused count against no identifier: 40 identifiers hold one send each.
    expect(await sendLimitHits("otp-send:identifier:ip-%")).toEqual(Array.from({ length: 40 }, () => 1));
  });

  it("VerifyOtp: of 30 concurrent wrong codes exactly 3 count, then the code is dead even for the right one", async () => {
    const identifier = "wrong-codes@race.example";
    const sent = { identifier, identifierType: IdentifierType.EMAIL, purpose: OtpPurpose.LOGIN };
    const { challengeId } = await auth(0).sendOtp({ ...sent, deviceId: "d" });
    const request = { ...sent, challengeId };
    const right = delivery.lastCode(identifier);
    const wrong = (index: number) => String((Number(right) + 1 + index) % 1_000_000).padStart(6, "0");
    const result = await answers(
      Array.from({ length: callers }, (_, index) => auth(index).verifyOtp({ ...request, code: wrong(index) })),
    );
    const counts = tally(result);
    expect(counts.UNAUTHENTICATED, JSON.stringify(counts)).toBe(3);
    expect((counts.FAILED_PRECONDITION ?? 0) + (counts.RESOURCE_EXHAUSTED ?? 0)).toBe(27);
    const { rows } = await db.auth.query<{ attempts: number }>("select attempts from otp_codes where identifier = $1", [
      identifier,
    ]);
    expect(rows.map((row) => row.attempts)).toEqual([3]);
    const late = await answers([auth(1).verifyOtp({ ...request, code: right })]);
    expect(late).toEqual([Code.FailedPrecondition]);
  });

  it("VerifyOtp: of 30 concurrent right codes exactly one gets a verification token", async () => {
    const identifier = "right-code@race.example";
    const sent = { identifier, identifierType: IdentifierType.EMAIL, purpose: OtpPurpose.LOGIN };
    const { challengeId } = await auth(0).sendOtp({ ...sent, deviceId: "d" });
    const request = { ...sent, challengeId };
    const code = delivery.lastCode(identifier);
    const result = await answers(
      Array.from({ length: callers }, (_, index) => auth(index).verifyOtp({ ...request, code })),
    );
    expect(tally(result)).toEqual({ OK: 1, FAILED_PRECONDITION: 29 });
  });

  it("Login: of 30 concurrent sign-ins with one verification token exactly one creates a session", async () => {
    const identifier = "one-token@race.example";
    const verificationToken = await verifyIdentifier(auth(0), delivery, identifier);
    const logins = Array.from({ length: callers }, (_, index) =>
      auth(index).login({ verificationToken, deviceId: `device-${index}`, deviceName: "" }),
    );
    const result = await answers(logins);
    expect(tally(result)).toEqual({ OK: 1, UNAUTHENTICATED: 29 });
    const { rows } = await db.auth.query(
      "select s.id from sessions s join identities i on i.user_id = s.user_id where i.identifier = $1",
      [identifier],
    );
    expect(rows).toHaveLength(1);
  });

  it("RefreshToken: 30 concurrent refreshes of one token rotate it once (the racers get the same new pair)", async () => {
    const session = await newUser();
    const result = await Promise.allSettled(
      Array.from({ length: callers }, (_, index) =>
        auth(index).refreshToken({ refreshToken: session.refreshToken, deviceId: session.deviceId }),
      ),
    );
    const pairs = result.flatMap((outcome) =>
      outcome.status === "fulfilled" ? [outcome.value.tokens!.refreshToken] : [],
    );
    expect(pairs.length, "answered with a token pair").toBeGreaterThan(0);
    expect(new Set(pairs).size, "distinct new refresh tokens").toBe(1);
    for (const outcome of result) {
      if (outcome.status === "rejected") expect(ConnectError.from(outcome.reason).code).toBe(Code.Unauthenticated);
    }
    const refreshed = (await outboxEvents(db.auth, "auth.session.refreshed")).filter(
      (event) => event.sessionId === session.sessionId,
    );
    expect(refreshed).toHaveLength(1);
    // The one new token works; the session was not revoked as a reuse.
    await auth(1).refreshToken({ refreshToken: pairs[0]!, deviceId: session.deviceId });
  });

  it("CreateUser: of 30 concurrent calls for one subject exactly one creates the profile", async () => {
    const session = await signIn(auth(0), delivery, "one-subject@race.example");
    expect(session.newUser).toBe(true);
    const result = await answers(
      Array.from({ length: callers }, (_, index) =>
        user(index).createUser({ username: `subject_${index}`, name: "One" }, bearer(session.accessToken)),
      ),
    );
    expect(tally(result)).toEqual({ OK: 1, ALREADY_EXISTS: 29 });
    const { rows } = await db.user.query("select username from users where id = $1", [session.userId]);
    expect(rows).toHaveLength(1);
    const created = (await outboxEvents(db.user, "user.profile.created")).filter(
      (event) => event.userId === session.userId,
    );
    expect(created).toHaveLength(1);
  });

  it("usernames: 30 new users racing CreateUser for one name, then 30 users racing UpdateUsername for another (in mixed case): one winner each", async () => {
    const sessions = await Promise.all(
      Array.from({ length: callers }, (_, index) => signIn(auth(index), delivery, `claimer${index}@race.example`)),
    );
    const created = await answers(
      sessions.map((s, index) => user(index).createUser({ username: "taken_name", name: "x" }, bearer(s.accessToken))),
    );
    expect(tally(created)).toEqual({ OK: 1, ALREADY_EXISTS: 29 });
    // The losers keep no half-made profile: they can take a name of their own.
    const losers = sessions.filter((_, index) => created[index] !== "ok");
    await Promise.all(
      losers.map((s, index) =>
        user(index).createUser({ username: `claimer_${index}`, name: "x" }, bearer(s.accessToken)),
      ),
    );

    const spellings = ["Race.Winner", "race.winner", "RACE.WINNER", "Race.WINNER"];
    const renamed = await answers(
      sessions.map((s, index) =>
        user(index).updateUsername({ username: spellings[index % spellings.length]! }, bearer(s.accessToken)),
      ),
    );
    expect(tally(renamed)).toEqual({ OK: 1, ALREADY_EXISTS: 29 });
    const { rows } = await db.user.query("select username from users where lower(username) = 'race.winner'");
    expect(rows).toHaveLength(1);
  });

  /**
   * 20 sessions of one user refresh while `bar` (a suspension, a deletion) is applied on the other
   * instance; afterwards no session may be alive, no token usable in either service, and a new
   * sign-in is refused.
   */
  async function barRacingRefreshes(identifier: string, bar: (userId: string) => Promise<unknown>): Promise<void> {
    // 20 sessions on 20 devices: one sign-in with a code, then a password (codes are limited to 3 per window).
    const first = await newUser(identifier, "victim-device-0");
    const password = "correct horse battery staple";
    await auth(0).setPassword(
      { verificationToken: await verifyIdentifier(auth(0), delivery, identifier), password },
      bearer(first.accessToken),
    );
    const sessions: SignedIn[] = [first];
    for (let index = 1; index < 20; index++) {
      const deviceId = `victim-device-${index}`;
      const login = await auth(index).loginWithPassword({
        identifier,
        identifierType: IdentifierType.EMAIL,
        password,
        deviceId,
        deviceName: "",
      });
      sessions.push({
        ...first,
        deviceId,
        sessionId: login.sessionId,
        accessToken: login.tokens!.accessToken,
        refreshToken: login.tokens!.refreshToken,
      });
    }
    const userId = first.userId;

    const refreshes = sessions.map((s, index) =>
      auth(index).refreshToken({ refreshToken: s.refreshToken, deviceId: s.deviceId }),
    );
    const [refreshed] = await Promise.all([Promise.allSettled(refreshes), bar(userId)]);

    // Every refresh token in anyone's hand: the originals and whatever the race handed out.
    const refreshTokens = [
      ...sessions.map((s) => ({ token: s.refreshToken, deviceId: s.deviceId })),
      ...refreshed.flatMap((outcome, index) =>
        outcome.status === "fulfilled"
          ? [{ token: outcome.value.tokens!.refreshToken, deviceId: sessions[index]!.deviceId }]
          : [],
      ),
    ];
    const accessTokens = [
      ...sessions.map((s) => s.accessToken),
      ...refreshed.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value.tokens!.accessToken] : [])),
    ];

    await waitFor(
      async () => {
        const { rows } = await db.auth.query("select 1 from sessions where user_id = $1 and revoked_at is null", [
          userId,
        ]);
        return rows.length === 0;
      },
      { timeoutMs: 10_000 },
    );
    const refreshAnswers = await answers(
      refreshTokens.map((r, index) => auth(index).refreshToken({ refreshToken: r.token, deviceId: r.deviceId })),
    );
    expect(refreshAnswers.filter((answer) => answer === "ok")).toEqual([]);
    const authAnswers = await answers(accessTokens.map((token, index) => auth(index).listSessions({}, bearer(token))));
    expect(authAnswers.every((answer) => answer === Code.Unauthenticated)).toBe(true);
    await waitFor(
      async () =>
        (await answers(accessTokens.map((token, index) => user(index).getMe({}, bearer(token))))).every(
          (a) => a === Code.Unauthenticated,
        ),
      {
        timeoutMs: 5_000,
      },
    );
    const again = await answers([
      auth(0).loginWithPassword({
        identifier,
        identifierType: IdentifierType.EMAIL,
        password,
        deviceId: "victim-device-new",
        deviceName: "",
      }),
    ]);
    expect(again).toEqual([Code.PermissionDenied]);
  }

  it("a suspension racing 20 refreshes leaves no session alive and no token usable", async () => {
    await barRacingRefreshes("suspended@race.example", (userId) =>
      user(1).suspendUser({ userId, reason: "race test" }, bearer(admin.accessToken)),
    );
    recordSurvival({
      fault: "Races across two instances of each service on one database",
      tried:
        "30 concurrent: SendOtp one identifier; 60 from one IP; wrong codes; right code; Login one token; RefreshToken one token; " +
        "CreateUser one subject; CreateUser and UpdateUsername one name; SuspendUser racing 20 refreshes",
      times: 9,
      lost: "nothing, doubled nothing: exact limits (3 codes, 40 per IP, 3 attempts), 1 token, 1 session, 1 rotation, 1 profile, 1 name; 0 sessions after the suspension",
    });
  });

  it("a deletion racing 20 refreshes leaves no session alive and no token usable", async () => {
    await barRacingRefreshes("deleted@race.example", (userId) =>
      user(1).updateLifecycleState(
        { userId, state: LifecycleState.DELETED, reason: "race test" },
        bearer(admin.accessToken),
      ),
    );
    recordSurvival({
      fault: "An account deleted while its sessions are live",
      tried:
        "UpdateLifecycleState to DELETED on one user instance while the user's 20 sessions refresh over two auth instances",
      times: 1,
      lost: "nothing: 0 live sessions, every refresh and access token refused by both services, sign-in refused",
    });
  });
});
