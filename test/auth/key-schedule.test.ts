import { generateKeyPairSync, randomBytes } from "node:crypto";
import { type Code, ConnectError } from "@connectrpc/connect";
import { decodeProtectedHeader, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { connectAuthClient, connectUserClient, startUser, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, type TestDatabase, waitFor } from "../support/index.js";
import { signIn, startAuthHarness, uniqueEmail, type AuthHarness } from "./auth-harness.js";

// Signing keys rotate by themselves every JWT_KEY_ROTATION_INTERVAL. Two auth instances on one
// database agree through it: one publishes the successor JWT_KEY_ACTIVATION_DELAY ahead (10 min by
// default), both sign with it from its activation time, and the old key stays in the JWKS until the
// last token it signed has expired (15 min access tokens + 5 min margin). The user service verifies
// tokens from before and after with the JWKS it fetched while the new key was pre-published.

const minute = 60_000;
const day = 24 * 60 * minute;

describe("scheduled signing key rotation across two instances", () => {
  let h: AuthHarness;
  let b: RunningService<AuthServiceHandle>;
  let user: RunningService<UserServiceHandle>;
  let userDatabase: TestDatabase;
  const both = () => [h.auth, b];

  beforeAll(async () => {
    h = await startAuthHarness({
      env: {
        JWT_KEY_ROTATION_INTERVAL: "1d",
        JWT_KEY_REFRESH_INTERVAL: "100ms",
        KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      },
    });
    b = await h.startAnother();
    userDatabase = await createTestDatabase();
    user = await startUser(
      {
        USER_DATABASE_URL: userDatabase.url,
        NATS_URL: h.nats.url,
        AUTH_JWKS_URL: `${h.auth.baseUrl}/.well-known/jwks.json`,
      },
      { clock: h.clock },
    );
  });
  afterAll(async () => {
    await user?.close();
    await h?.close();
    await userDatabase?.drop();
  });

  async function kidsOf(service: RunningService<AuthServiceHandle>): Promise<string[]> {
    const response = await fetch(`${service.baseUrl}/.well-known/jwks.json`);
    return ((await response.json()) as JSONWebKeySet).keys.map((key) => key.kid!).sort();
  }
  const kidOf = (token: string) => decodeProtectedHeader(token).kid!;
  const sampleKid = (service: RunningService<AuthServiceHandle>) =>
    kidOf(
      service.handle.domain.accessTokens.issue(
        {
          userId: "u",
          sessionId: "s",
          deviceId: "d",
          identifiers: [{ type: "email", identifier: "x@example.com" }],
          authentication: null,
        },
        h.clock.now(),
      ).token,
    );
  async function keyRows() {
    return h.auth.handle.runtime.db
      .selectFrom("signing_keys")
      .select(["kid", "activates_at", "retired_at"])
      .orderBy("activates_at")
      .execute();
  }
  async function userAnswer(accessToken: string): Promise<Code | "ok"> {
    return connectUserClient(user.baseUrl)
      .getMe({}, { headers: { authorization: `Bearer ${accessToken}` } })
      .then(
        () => "ok" as const,
        (error: unknown) => ConnectError.from(error).code,
      );
  }

  it("publishes the successor ahead, switches both instances at its activation, keeps the old key until its last token expired, and the user service takes tokens from before and after", async () => {
    const [first] = await keyRows();
    const oldKid = first!.kid;
    const activation = new Date(first!.activates_at.getTime() + day);

    // Due one activation delay before the interval is over: the instances' own timers rotate.
    h.clock.set(new Date(activation.getTime() - 10 * minute));
    for (const service of both()) await waitFor(async () => (await kidsOf(service)).length === 2);
    const rows = await keyRows();
    expect(rows).toHaveLength(2);
    const newKid = rows[1]!.kid;
    expect(rows[1]!.activates_at.getTime()).toBe(activation.getTime());
    expect(rows[0]!.retired_at?.getTime()).toBe(activation.getTime());
    for (const service of both()) {
      expect(await kidsOf(service)).toEqual([oldKid, newKid].sort());
      expect(sampleKid(service)).toBe(oldKid); // published, not signing yet
    }

    // A user signs up now; the user service fetches the JWKS, which already holds the new key.
    const session = await signIn(h, uniqueEmail("rotation"));
    const before = session.tokens!.accessToken;
    expect(kidOf(before)).toBe(oldKid);
    await connectUserClient(user.baseUrl).createUser(
      { username: `rot_${randomBytes(3).toString("hex")}`, name: "Rotation" },
      { headers: { authorization: `Bearer ${before}` } },
    );

    // Both instances switch at the same moment, by the activation time they both read.
    const refresh = async (service: RunningService<AuthServiceHandle>, token: string) =>
      (await connectAuthClient(service.baseUrl).refreshToken({ refreshToken: token, deviceId: "device-1" })).tokens!;
    h.clock.set(new Date(activation.getTime() - 1));
    expect(both().map(sampleKid)).toEqual([oldKid, oldKid]);
    const lastOld = await refresh(b, session.tokens!.refreshToken);
    expect(kidOf(lastOld.accessToken)).toBe(oldKid);
    h.clock.set(activation);
    expect(both().map(sampleKid)).toEqual([newKid, newKid]);
    const afterA = await refresh(h.auth, lastOld.refreshToken);
    const afterB = await refresh(b, afterA.refreshToken);
    expect([kidOf(afterA.accessToken), kidOf(afterB.accessToken)]).toEqual([newKid, newKid]);
    for (const token of [before, lastOld.accessToken, afterA.accessToken, afterB.accessToken]) {
      expect(await userAnswer(token)).toBe("ok");
    }

    // The old key's last token is good until activation + 15 min; the key stays published 5 min more.
    h.clock.set(new Date(activation.getTime() + 15 * minute - 2_000));
    expect(await userAnswer(lastOld.accessToken)).toBe("ok");
    h.clock.set(new Date(activation.getTime() + 20 * minute - 1));
    for (const service of both()) expect(await kidsOf(service)).toEqual([oldKid, newKid].sort());
    h.clock.set(new Date(activation.getTime() + 20 * minute));
    for (const service of both()) expect(await kidsOf(service)).toEqual([newKid]);
    const later = await refresh(h.auth, afterB.refreshToken);
    expect(kidOf(later.accessToken)).toBe(newKid);
    expect(await userAnswer(later.accessToken)).toBe("ok");
  });

  it("rotates exactly once when both instances find the key due at the same time, and after a long stop activates the successor a full delay from now", async () => {
    const newest = (await keyRows()).at(-1)!;
    const now = new Date(newest.activates_at.getTime() + 3 * day);
    h.clock.set(now);
    const refreshes = [h.auth, b, h.auth, b, h.auth, b].map((service) => service.handle.domain.keys.refresh());
    await Promise.all(refreshes);
    const rows = await keyRows();
    const added = rows.filter((row) => row.activates_at > newest.activates_at);
    expect(added).toHaveLength(1);
    expect(added[0]!.activates_at.getTime()).toBe(now.getTime() + 10 * minute);
    for (const service of both()) expect(await kidsOf(service)).toContain(added[0]!.kid);
  });
});

describe("scheduled rotation with JWT_PRIVATE_KEY", () => {
  let h: AuthHarness;
  beforeAll(async () => {
    const pem = generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ format: "pem", type: "pkcs8" })
      .toString();
    h = await startAuthHarness({ env: { JWT_PRIVATE_KEY: pem, JWT_KEY_ROTATION_INTERVAL: "1d" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("leaves a configured key alone: the operator rotates it by deploying a new one", async () => {
    const keys = h.auth.handle.domain.keys;
    const kid = keys.signingKey().kid;
    h.clock.advance(3 * day);
    await keys.refresh();
    expect(keys.signingKey().kid).toBe(kid);
    expect(keys.jwks().keys.map((key) => key.kid)).toEqual([kid]);
  });
});
