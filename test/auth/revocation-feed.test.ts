import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { capturingDelivery, connectAuthClient, startAuth, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/index.js";
import { callHeaders, signIn, startAuthHarness, uniqueEmail, type AuthHarness } from "./auth-harness.js";

// Where the auth service learns that a token's session is revoked: from the auth.session.revoked
// feed it follows (no database round trip per call) while that feed is caught up and NATS is
// connected; from the database otherwise. Writing revoked_at behind the service's back (no event)
// shows which of the two answered.

const as = (accessToken: string) => ({ headers: callHeaders({ accessToken }) });

async function codeOf(promise: Promise<unknown>): Promise<Code | "ok"> {
  return promise.then(
    () => "ok" as const,
    (error: unknown) => ConnectError.from(error).code,
  );
}

function revokeBehindTheServicesBack(auth: RunningService<AuthServiceHandle>, sessionId: string) {
  return auth.handle.runtime.db
    .updateTable("sessions")
    .set({ revoked_at: new Date(), revoke_reason: "test" })
    .where("id", "=", sessionId)
    .execute();
}

describe("revocation known from the auth.session.revoked feed", () => {
  let h: AuthHarness;

  beforeAll(async () => {
    h = await startAuthHarness();
    await waitFor(() => h.auth.handle.domain.revocationFeed?.isCurrent());
  });
  afterAll(async () => {
    await h?.close();
  });

  it("answers for an active session from the feed, without reading the session (a revocation without its event goes unseen)", async () => {
    const login = await signIn(h, uniqueEmail());
    await revokeBehindTheServicesBack(h.auth, login.sessionId);
    expect((await h.client.validateToken({ accessToken: login.tokens!.accessToken })).valid).toBe(true);
    expect(await codeOf(h.client.listSessions({}, as(login.tokens!.accessToken)))).toBe("ok");
  });

  it("refuses a session revoked through the service at once, on this instance and on another one", async () => {
    const other = connectAuthClient((await h.startAnother()).baseUrl);
    const login = await signIn(h, uniqueEmail());
    await expect(other.listSessions({}, as(login.tokens!.accessToken))).resolves.toBeDefined();
    await h.client.logout({}, as(login.tokens!.accessToken));
    expect((await h.client.validateToken({ accessToken: login.tokens!.accessToken })).valid).toBe(false);
    expect(await codeOf(other.listSessions({}, as(login.tokens!.accessToken)))).toBe(Code.Unauthenticated);
  });

  it("reads the database while NATS is down, and the feed again once it has caught up", async () => {
    const before = await signIn(h, uniqueEmail());
    await h.nats.stop();
    try {
      await waitFor(() => !h.auth.handle.runtime.nats!.isConnected());
      await revokeBehindTheServicesBack(h.auth, before.sessionId);
      expect((await h.client.validateToken({ accessToken: before.tokens!.accessToken })).valid).toBe(false);
      expect(await codeOf(h.client.listSessions({}, as(before.tokens!.accessToken)))).toBe(Code.Unauthenticated);
    } finally {
      await h.nats.start();
    }
    // Back in business once the feed delivers a revocation made after the restart.
    const marker = await signIn(h, uniqueEmail());
    await h.client.logout({}, as(marker.tokens!.accessToken));
    const feed = h.auth.handle.domain.revocationFeed!;
    await waitFor(
      async () =>
        h.auth.handle.runtime.nats!.isConnected() &&
        feed.isCurrent() &&
        (await feed.seenOnFeed([marker.sessionId], 200)),
      {
        timeoutMs: 15_000,
      },
    );
    const after = await signIn(h, uniqueEmail());
    await revokeBehindTheServicesBack(h.auth, after.sessionId);
    expect((await h.client.validateToken({ accessToken: after.tokens!.accessToken })).valid).toBe(true);
  });
});

describe("revocation without NATS", () => {
  let database: TestDatabase;
  let auth: RunningService<AuthServiceHandle>;
  const capture = capturingDelivery();

  beforeAll(async () => {
    database = await createTestDatabase();
    auth = await startAuth({ AUTH_DATABASE_URL: database.url }, { delivery: capture });
  });
  afterAll(async () => {
    await auth?.close();
    await database?.drop();
  });

  it("reads the session from the database on every call", async () => {
    const client = connectAuthClient(auth.baseUrl);
    const login = await signIn({ client, capture }, uniqueEmail());
    expect(auth.handle.domain.revocationFeed).toBeUndefined();
    expect((await client.validateToken({ accessToken: login.tokens!.accessToken })).valid).toBe(true);
    await revokeBehindTheServicesBack(auth, login.sessionId);
    expect((await client.validateToken({ accessToken: login.tokens!.accessToken })).valid).toBe(false);
  });
});
