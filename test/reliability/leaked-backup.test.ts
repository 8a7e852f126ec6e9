import { execFileSync } from "node:child_process";
import { createPrivateKey, randomBytes } from "node:crypto";
import { join } from "node:path";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { openUnder, parseKeyEncryptionKey } from "../../services/auth/domain/key-encryption.js";
import { hashOtpCode } from "../../services/auth/domain/otp-codes.js";
import { capturingDelivery, connectAuthClient, startAuth, type RunningService } from "../fixtures/services.js";
import { holdsScalarOf, parsesAsPrivateKey } from "../fixtures/stored-keys.js";
import { findBinaries } from "../support/ensure-binaries.js";
import { createTestDatabase, type TestDatabase } from "../support/index.js";
import { recordSurvival } from "./helpers/survival-log.js";

// A backup of the auth database leaks, the key-encryption key (KEY_ENCRYPTION_KEY) does not. The
// backup is a real pg_dump taken after sign-ins; everything below is read from its text alone. It
// must not mint a token (no private key in any form, not even as raw bytes, and the row as an HMAC
// key signs nothing that verifies) nor check a code (the stored OTP key does not reproduce a code's
// hash). The control opens the same rows with the KEK and gets both keys back.

type CopyRow = Record<string, string | null>;

/** The rows of `table` in a plain-format pg_dump (COPY ... FROM stdin; tab-separated; \N is null). */
function copyRows(dump: string, table: string): CopyRow[] {
  const lines = dump.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`COPY public.${table} (`));
  if (start < 0) throw new Error(`no COPY of ${table} in the dump`);
  const columns = /\(([^)]*)\)/.exec(lines[start]!)![1]!.split(", ");
  const rows: CopyRow[] = [];
  for (let i = start + 1; lines[i] !== "\\."; i++) {
    const fields = lines[i]!.split("\t");
    rows.push(Object.fromEntries(columns.map((column, j) => [column, fields[j] === "\\N" ? null : fields[j]!])));
  }
  return rows;
}

/** A bytea field of COPY's text format: \\x and hex digits (the backslash is escaped). */
const bytea = (field: string | null | undefined) => Buffer.from(field!.replace(/^\\\\x/, ""), "hex");

describe("a leaked database backup without the key-encryption key", () => {
  let database: TestDatabase;
  let auth: RunningService<AuthServiceHandle>;
  const kek = randomBytes(32).toString("base64");
  const capture = capturingDelivery();
  const email = "backup-holder@example.com";

  beforeAll(async () => {
    database = await createTestDatabase();
    auth = await startAuth({ AUTH_DATABASE_URL: database.url, KEY_ENCRYPTION_KEY: kek }, { delivery: capture });
    const client = connectAuthClient(auth.baseUrl);
    const request = { identifier: email, identifierType: IdentifierType.EMAIL, purpose: OtpPurpose.LOGIN };
    await client.sendOtp({ ...request, deviceId: "d" });
    const { verificationToken } = await client.verifyOtp({ ...request, code: capture.lastCode(email) });
    await client.login({ verificationToken, deviceId: "d", deviceName: "" });
    await client.sendOtp({ ...request, deviceId: "d" }); // a code still open in the backup
  });
  afterAll(async () => {
    await auth?.close();
    await database?.drop();
  });

  it("yields neither a signing key nor the OTP key; the same rows open with the KEK (the control)", async () => {
    const pgDump = join(findBinaries().pgBinDir!, "pg_dump");
    const dump = execFileSync(pgDump, ["--data-only", "--format=plain", "--no-owner", `--dbname=${database.url}`], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const [keyRow] = copyRows(dump, "signing_keys");
    const [otpKeyRow] = copyRows(dump, "server_secrets").filter((row) => row.name === "otp-hash-key");
    const codeRow = copyRows(dump, "otp_codes").find((row) => row.identifier === email && row.closed_at === null)!;
    const privateKey = bytea(keyRow!.private_key);
    const otpKey = bytea(otpKeyRow!.value);
    const publicJwk = JSON.parse(keyRow!.public_jwk!) as { x: string; y: string };
    const jwks = createLocalJWKSet(
      (await (await fetch(`${auth.baseUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet,
    );
    const codeHash = bytea(codeRow.code_hash);
    const code = capture.lastCode(email);
    const hashesTheCode = (key: Uint8Array) =>
      Buffer.from(hashOtpCode(key, codeRow.identifier!, codeRow.purpose!, code)).equals(codeHash);
    const signsAToken = async (key: Parameters<SignJWT["sign"]>[0], alg: string) => {
      const token = await new SignJWT({ sub: "someone" })
        .setProtectedHeader({ alg, kid: keyRow!.kid! })
        .setIssuer("mintcoin-auth")
        .setAudience("mintcoin")
        .setExpirationTime("5m")
        .sign(key);
      return jwtVerify(token, jwks).then(
        () => true,
        () => false,
      );
    };

    // The backup alone.
    expect([keyRow!.private_key_encrypted, otpKeyRow!.value_encrypted]).toEqual(["t", "t"]);
    expect(parsesAsPrivateKey(privateKey)).toBe(false);
    expect(holdsScalarOf(privateKey, publicJwk)).toBe(false);
    expect(await signsAToken(privateKey, "HS256")).toBe(false);
    expect(hashesTheCode(otpKey)).toBe(false);

    // The control: the same rows with the KEK.
    const opened = parseKeyEncryptionKey(kek);
    const der = Buffer.from(openUnder(opened, privateKey, `signing_keys/${keyRow!.kid}`));
    expect(parsesAsPrivateKey(der)).toBe(true);
    expect(holdsScalarOf(der, publicJwk)).toBe(true);
    expect(await signsAToken(createPrivateKey({ key: der, format: "der", type: "pkcs8" }), "ES256")).toBe(true);
    expect(hashesTheCode(openUnder(opened, otpKey, "server_secrets/otp-hash-key"))).toBe(true);

    recordSurvival({
      fault: "A leaked database backup without the KEK",
      tried: `pg_dump of the auth database after a sign-in: the signing key's row as PKCS#8, SEC1 and PEM, each of its ${privateKey.length - 31} 32-byte windows as the P-256 scalar, and as an HS256 key; the OTP key's row hashing a delivered code`,
      times: "1 per run",
      lost: "nothing: no key parsed, no scalar matched the published key, no forged token verified, the code's hash was not reproduced; with the KEK (the control) all of them did",
    });
  });
});
