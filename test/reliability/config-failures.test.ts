import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { recordSurvival } from "./helpers/survival-log.js";

// A service started with a missing dependency or a bad setting stops before it opens anything,
// exit code 78 (EX_CONFIG), with a message that names the variable and repeats no value: no code
// written to the log instead of the missing NATS, no secret in the error output.

const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** Runs a service's main.ts with only `env` (none of this machine's settings) and waits for its exit. */
function runService(service: "auth" | "user", env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", tsx, `services/${service}/main.ts`],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 20_000 },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, output: stdout + stderr }),
    );
  });
}

describe("a service configured to fail open does not start", () => {
  it("exits 78 naming NATS_URL when OTP_DELIVERY=nats has no NATS_URL (codes never go to the log instead)", async () => {
    const { code, output } = await runService("auth", { OTP_DELIVERY: "nats" });
    expect(code).toBe(78);
    expect(output).toContain("NATS_URL");
    expect(output).not.toContain("one-time code");
  });

  it("exits 78 naming each bad variable without printing a secret", async () => {
    const secrets = {
      JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----",
      OTP_HASH_SECRET: "too-short-hmac-secret",
      AUTH_DATABASE_URL: "postgres//mintcoin:db-password-123@db.internal/auth",
    };
    const auth = await runService("auth", secrets);
    expect(auth.code).toBe(78);
    for (const name of Object.keys(secrets)) expect(auth.output).toContain(name);
    for (const secret of ["TOP-SECRET", "too-short-hmac", "db-password-123"]) expect(auth.output).not.toContain(secret);

    recordSurvival({
      fault: "Misconfiguration that would fail open or leak",
      tried: "OTP_DELIVERY=nats without NATS_URL; a bad private key, HMAC secret and database URL with a password",
      times: "every run",
      lost: "nothing: exit 78 naming each variable; no code logged, no secret in the output",
    });
  });
});
