import { generateKeyPairSync, randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { Migrator } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { parseKeyEncryptionKey, sealedUnder } from "../../services/auth/domain/key-encryption.js";
import { keyMaterialFromDer } from "../../services/auth/domain/key-material.js";
import { hashOtpCode } from "../../services/auth/domain/otp-codes.js";
import { authMigrations } from "../../services/auth/migrations/index.js";
import { ConfigError } from "../../services/shared/config/env.js";
import { createDatabase } from "../../services/shared/database/create-database.js";
import { createLogger } from "../../services/shared/logging.js";
import { capturingDelivery, connectAuthClient, startAuth, type RunningService } from "../fixtures/services.js";
import { holdsScalarOf, otpKeyRow, query, signingKeyRows } from "../fixtures/stored-keys.js";
import { repoRoot, spawnNode } from "../support/node-process.js";
import { createTestDatabase, type TestDatabase } from "../support/index.js";

// The keys the auth service generates and keeps in its database (the signing key's private half,
// the OTP HMAC key) are sealed under KEY_ENCRYPTION_KEY: the service opens them with the right key
// only, stops with a clear message otherwise, seals the rows an earlier version left in the clear,
// and moves them to a new KEK. (What a copy of the database alone yields:
// test/reliability/leaked-backup.test.ts.)

const newKek = () => randomBytes(32).toString("base64");
const subject = {
  userId: "0f8c9b4e-7d51-4c33-9a4b-6a1f8e2d3c5b",
  sessionId: "5a7d1c3e-2b4f-4e6a-8c9d-0e1f2a3b4c5d",
  deviceId: "device-1",
  identifiers: [{ type: "email" as const, identifier: "someone@example.com" }],
  authentication: null,
};

/** Runs one of the auth service's entry points as its own process, to its exit. */
async function runToExit(script: string, env: Record<string, string>, args: string[] = []) {
  const proc = spawnNode({
    name: script.replace(/\.ts$/, ""),
    script: join(repoRoot, "services", "auth", script),
    args,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "warn", ...env },
  });
  const [code] = (await once(proc.child, "exit")) as [number | null];
  return { code, output: readFileSync(proc.logFile, "utf8") };
}

async function jwksOf(service: RunningService<AuthServiceHandle>): Promise<JSONWebKeySet> {
  return (await (await fetch(`${service.baseUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
}

describe("keys at rest under KEY_ENCRYPTION_KEY", () => {
  let database: TestDatabase;
  const kek = newKek();
  const capture = capturingDelivery();
  let auth: RunningService<AuthServiceHandle>;

  beforeAll(async () => {
    database = await createTestDatabase();
    auth = await startAuth(
      { AUTH_DATABASE_URL: database.url, OTP_DELIVERY: "log", KEY_ENCRYPTION_KEY: kek },
      { delivery: capture },
    );
  });
  afterAll(async () => {
    await auth?.close();
    await database?.drop();
  });

  it("starts again with the same KEK on the same key, leaving the sealed rows as they were, and its tokens verify", async () => {
    const before = await signingKeyRows(database.url);
    const again = await startAuth({ AUTH_DATABASE_URL: database.url, OTP_DELIVERY: "log", KEY_ENCRYPTION_KEY: kek });
    try {
      const { token } = again.handle.domain.accessTokens.issue(subject, new Date());
      expect(decodeProtectedHeader(token).kid).toBe(before[0]!.kid);
      await expect(jwtVerify(token, createLocalJWKSet(await jwksOf(again)))).resolves.toBeDefined();
      expect(await signingKeyRows(database.url)).toEqual(before);
    } finally {
      await again.close();
    }
  });

  it("refuses to start with a wrong or a missing KEY_ENCRYPTION_KEY, naming it and not the value", async () => {
    const wrong = newKek();
    for (const env of [{ KEY_ENCRYPTION_KEY: wrong }, {}]) {
      const error = await startAuth({ AUTH_DATABASE_URL: database.url, OTP_DELIVERY: "log", ...env }).then(
        async (started) => {
          await started.close();
          return undefined;
        },
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^ {2}KEY_ENCRYPTION_KEY: /m);
      expect((error as Error).message).not.toContain(wrong);
      expect((error as Error).message).not.toContain(kek);
    }
  });

  it("a process started with a wrong KEY_ENCRYPTION_KEY exits with code 78 and one clear message, no stack trace", async () => {
    const wrong = newKek();
    const { code, output } = await runToExit("main.ts", {
      NODE_ENV: "production",
      AUTH_DATABASE_URL: database.url,
      OTP_DELIVERY: "log",
      KEY_ENCRYPTION_KEY: wrong,
      AUTH_PORT: "0",
      AUTH_METRICS_PORT: "off",
    });
    expect(code).toBe(78);
    expect(output).toMatch(
      /auth: invalid configuration:\n {2}KEY_ENCRYPTION_KEY: the keys stored in the database are encrypted under key-encryption key [0-9a-f]{16}, not under this one/,
    );
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain(wrong);
  });

  it("rotate-signing-key seals the key it adds under the KEK, and stops at a wrong KEK with code 78", async () => {
    const wrong = await runToExit("rotate-signing-key.ts", {
      AUTH_DATABASE_URL: database.url,
      OTP_DELIVERY: "log",
      KEY_ENCRYPTION_KEY: newKek(),
    });
    expect(wrong.code).toBe(78);
    expect(wrong.output).toMatch(/^rotate-signing-key: invalid configuration:\n {2}KEY_ENCRYPTION_KEY: /m);
    expect(wrong.output).not.toMatch(/^\s+at /m);

    const rotated = await runToExit(
      "rotate-signing-key.ts",
      { AUTH_DATABASE_URL: database.url, OTP_DELIVERY: "log", KEY_ENCRYPTION_KEY: kek },
      ["--activate-after=10m"],
    );
    expect(rotated.code).toBe(0);
    const rows = await signingKeyRows(database.url);
    expect(rows).toHaveLength(2);
    const kekId = parseKeyEncryptionKey(kek).id;
    for (const row of rows) expect([row.private_key_encrypted, sealedUnder(row.private_key)]).toEqual([true, kekId]);
    await auth.handle.domain.keys.reload();
    expect((await jwksOf(auth)).keys.map((key) => key.kid)).toContain(rows[1]!.kid);
  });
});

describe("a database from before keys were encrypted", () => {
  let database: TestDatabase;
  afterAll(async () => {
    await database?.drop();
  });

  it("has its keys sealed when the service first starts with KEY_ENCRYPTION_KEY, and goes on using the same keys", async () => {
    database = await createTestDatabase();
    // The schema and the rows as the earlier version left them: the private key as PKCS#8 DER and
    // the OTP key as raw bytes, both in the clear.
    const old = await createDatabase<unknown>({
      url: database.url,
      dataDir: "",
      poolSize: 1,
      logger: createLogger("auth", "silent"),
    });
    try {
      const migrator = new Migrator({ db: old.db, provider: { getMigrations: async () => authMigrations } });
      const { error } = await migrator.migrateTo("2026-11-26T06-00-00_cleanup-indexes");
      expect(error).toBeUndefined();
    } finally {
      await old.close();
    }
    const der = Buffer.from(
      generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "der", type: "pkcs8" }),
    );
    const { kid, alg, publicJwk } = keyMaterialFromDer(der);
    const otpKey = randomBytes(32);
    await query(
      database.url,
      "insert into signing_keys (kid, alg, public_jwk, private_key, created_at, activates_at) values ($1, $2, $3, $4, now(), now())",
      [kid, alg, JSON.stringify(publicJwk), der],
    );
    await query(database.url, "insert into server_secrets (name, value) values ('otp-hash-key', $1)", [otpKey]);

    const kek = newKek();
    const capture = capturingDelivery();
    const auth = await startAuth(
      { AUTH_DATABASE_URL: database.url, OTP_DELIVERY: "log", KEY_ENCRYPTION_KEY: kek },
      { delivery: capture },
    );
    try {
      const [keyRow] = await signingKeyRows(database.url);
      const otpRow = await otpKeyRow(database.url);
      expect(keyRow).toMatchObject({ kid, private_key_encrypted: true });
      expect(otpRow.value_encrypted).toBe(true);
      const kekId = parseKeyEncryptionKey(kek).id;
      expect([sealedUnder(keyRow!.private_key), sealedUnder(otpRow.value)]).toEqual([kekId, kekId]);
      expect(holdsScalarOf(der, publicJwk)).toBe(true);
      expect(holdsScalarOf(keyRow!.private_key, publicJwk)).toBe(false);
      expect(otpRow.value.includes(otpKey)).toBe(false);

      // The same signing key signs, and the same OTP key hashes the codes.
      const { token } = auth.handle.domain.accessTokens.issue(subject, new Date());
      expect(decodeProtectedHeader(token).kid).toBe(kid);
      await expect(jwtVerify(token, createLocalJWKSet(await jwksOf(auth)))).resolves.toBeDefined();
      const email = "from-before@example.com";
      await connectAuthClient(auth.baseUrl).sendOtp({
        identifier: email,
        identifierType: IdentifierType.EMAIL,
        purpose: OtpPurpose.LOGIN,
        deviceId: "d",
      });
      const [stored] = await query<{ purpose: string; code_hash: Buffer }>(
        database.url,
        "select purpose, code_hash from otp_codes where identifier = $1",
        [email],
      );
      const expected = hashOtpCode(otpKey, email, stored!.purpose, capture.lastCode(email));
      expect(Buffer.from(expected).equals(stored!.code_hash)).toBe(true);
    } finally {
      await auth.close();
    }
  });
});

describe("replacing the key-encryption key", () => {
  let database: TestDatabase;
  afterAll(async () => {
    await database?.drop();
  });

  it("seals the keys again under the new KEK when the old one is given as KEY_ENCRYPTION_KEY_PREVIOUS; then the old one alone no longer starts", async () => {
    database = await createTestDatabase();
    const [oldKek, newKekText] = [newKek(), newKek()];
    const first = await startAuth({ AUTH_DATABASE_URL: database.url, OTP_DELIVERY: "log", KEY_ENCRYPTION_KEY: oldKek });
    const kid = decodeProtectedHeader(first.handle.domain.accessTokens.issue(subject, new Date()).token).kid;
    await first.close();

    const env = {
      AUTH_DATABASE_URL: database.url,
      OTP_DELIVERY: "log",
      KEY_ENCRYPTION_KEY: newKekText,
      KEY_ENCRYPTION_KEY_PREVIOUS: oldKek,
    };
    const second = await startAuth(env);
    try {
      expect(decodeProtectedHeader(second.handle.domain.accessTokens.issue(subject, new Date()).token).kid).toBe(kid);
      const newId = parseKeyEncryptionKey(newKekText).id;
      expect(sealedUnder((await signingKeyRows(database.url))[0]!.private_key)).toBe(newId);
      expect(sealedUnder((await otpKeyRow(database.url)).value)).toBe(newId);
    } finally {
      await second.close();
    }
    await expect(
      startAuth({ AUTH_DATABASE_URL: database.url, OTP_DELIVERY: "log", KEY_ENCRYPTION_KEY: oldKek }),
    ).rejects.toThrow(/KEY_ENCRYPTION_KEY: the keys stored in the database are encrypted under key-encryption key/);
    const third = await startAuth({
      AUTH_DATABASE_URL: database.url,
      OTP_DELIVERY: "log",
      KEY_ENCRYPTION_KEY: newKekText,
    });
    await third.close();
  });
});
