import { generateKeyPairSync, randomBytes } from "node:crypto";
import { decodeProtectedHeader, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { keyMaterialFromDer } from "../../services/auth/domain/key-material.js";
import { parsePrometheusText, sampleValue } from "../fixtures/metrics.js";
import { startAuth, type RunningService } from "../fixtures/services.js";
import { query, signingKeyRows } from "../fixtures/stored-keys.js";
import { createTestDatabase, type TestDatabase } from "../support/index.js";

// Once KEY_ENCRYPTION_KEY is set, a signing key in the clear is read only by the start-up sealing.
// One that appears in the database later (an instance started without the KEK, a row written by
// hand) is a key anyone with a copy of the database holds: the running service must neither sign
// with it nor publish it. Real service, real Postgres, the row written with plain SQL.

const subject = {
  userId: "0f8c9b4e-7d51-4c33-9a4b-6a1f8e2d3c5b",
  sessionId: "5a7d1c3e-2b4f-4e6a-8c9d-0e1f2a3b4c5d",
  deviceId: "device-1",
  identifiers: [{ type: "email" as const, identifier: "someone@example.com" }],
  authentication: null,
};

describe("a signing key stored in the clear after start, with KEY_ENCRYPTION_KEY set", () => {
  let database: TestDatabase;
  let auth: RunningService<AuthServiceHandle>;

  beforeAll(async () => {
    database = await createTestDatabase();
    auth = await startAuth({
      AUTH_DATABASE_URL: database.url,
      OTP_DELIVERY: "log",
      KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    });
  });
  afterAll(async () => {
    await auth?.close();
    await database?.drop();
  });

  it("is refused at the next key reload: it neither signs nor is published, the keys loaded before stay, and the refusal is counted", async () => {
    const [sealed] = await signingKeyRows(database.url);
    const der = Buffer.from(
      generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "der", type: "pkcs8" }),
    );
    const clear = keyMaterialFromDer(der);
    // As a rotation lays the rows out (the old key retired when the new one activates), but with the
    // new private key in the clear.
    await query(
      database.url,
      "update signing_keys set retired_at = now() + interval '1 hour' where retired_at is null",
    );
    await query(
      database.url,
      `insert into signing_keys (kid, alg, public_jwk, private_key, private_key_encrypted, created_at, activates_at)
       values ($1, $2, $3, $4, false, now(), now())`,
      [clear.kid, clear.alg, JSON.stringify(clear.publicJwk), der],
    );

    await auth.handle.domain.keys.reload();

    const { token } = auth.handle.domain.accessTokens.issue(subject, new Date());
    expect(decodeProtectedHeader(token).kid).toBe(sealed!.kid);
    const jwks = (await (await fetch(`${auth.baseUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    expect(jwks.keys.map((key) => key.kid)).toEqual([sealed!.kid]);
    const metrics = parsePrometheusText(await auth.handle.runtime.metrics.scrape());
    expect(sampleValue(metrics, "mintcoin_signing_key_reloads_refused_total")).toBe(1);
  });
});
